//! The worker pool that runs a plan's datasets: jobs with dependencies, at most N at a time. Generic
//! over the job (no executor, no ZFS types), so it is tested on the host.

use std::sync::{Condvar, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Ok,
    Bad,
}

impl State {
    fn finished(self) -> bool {
        matches!(self, State::Ok | State::Bad)
    }
}

/// Runs jobs `0..deps.len()` on at most `workers` threads (at least one, at most one per job). Job `i`
/// starts once every job in `deps[i]` has finished, the lowest ready index first; `job(i, failed)` is
/// told the first of its dependencies (in `deps[i]` order) whose result `ok` judged a failure. Returns
/// each job's result in job order; `None` for a job that never became ready (its dependencies form a
/// cycle or name a job that does not exist): the workers stop when nothing is ready and nothing runs.
pub(crate) fn run_jobs<R, J, K>(
    deps: &[Vec<usize>],
    workers: usize,
    job: J,
    ok: K,
) -> Vec<Option<R>>
where
    R: Send,
    J: Fn(usize, Option<usize>) -> R + Sync,
    K: Fn(&R) -> bool + Sync,
{
    let n = deps.len();
    struct Sched<R> {
        state: Vec<State>,
        results: Vec<Option<R>>,
    }
    let sched = Mutex::new(Sched {
        state: vec![State::Waiting; n],
        results: (0..n).map(|_| None).collect(),
    });
    let cv = Condvar::new();
    let done = |state: &[State], d: usize| state.get(d).is_some_and(|s| s.finished());
    let workers = workers.clamp(1, n.max(1));

    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                // Pick the first waiting job whose dependencies are done.
                let (i, failed_dep) = {
                    let mut g = sched.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        if g.state.iter().all(|s| s.finished()) {
                            return;
                        }
                        let ready = (0..n).find(|&i| {
                            g.state[i] == State::Waiting
                                && deps[i].iter().all(|&d| done(&g.state, d))
                        });
                        if let Some(i) = ready {
                            g.state[i] = State::Running;
                            let failed =
                                deps[i].iter().copied().find(|&d| g.state[d] == State::Bad);
                            break (i, failed);
                        }
                        if !g.state.contains(&State::Running) {
                            // Nothing runnable and nothing running: cannot happen with a valid order.
                            return;
                        }
                        g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                };
                let result = job(i, failed_dep);
                let good = ok(&result);
                let mut g = sched.lock().unwrap_or_else(|e| e.into_inner());
                g.state[i] = if good { State::Ok } else { State::Bad };
                g.results[i] = Some(result);
                cv.notify_all();
            });
        }
    });
    sched
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .results
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Runs `run_jobs` on a thread and fails the test instead of hanging when it does not return.
    fn within_10s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the scheduler did not return (deadlock?)")
    }

    #[test]
    fn every_job_runs_once_when_nothing_depends() {
        let calls: Vec<AtomicUsize> = (0..50).map(|_| AtomicUsize::new(0)).collect();
        let out = run_jobs(
            &vec![Vec::new(); 50],
            4,
            |i, failed| {
                calls[i].fetch_add(1, Ordering::SeqCst);
                assert_eq!(failed, None);
                i * 10
            },
            |_| true,
        );
        assert_eq!(out, (0..50).map(|i| Some(i * 10)).collect::<Vec<_>>());
        assert!(calls.iter().all(|c| c.load(Ordering::SeqCst) == 1));
        assert!(run_jobs(&[], 4, |i, _| i, |_| true).is_empty());
    }

    #[test]
    fn a_job_starts_only_after_its_dependencies_finished() {
        // 0 <- 1 <- 3, 0 <- 2, {2, 3} <- 4, 5 alone; the slow parents would be overtaken otherwise.
        let deps = vec![vec![], vec![0], vec![0], vec![1], vec![3, 2], vec![]];
        let log = Mutex::new(Vec::new());
        run_jobs(
            &deps,
            4,
            |i, _| {
                log.lock().unwrap().push(("start", i));
                std::thread::sleep(Duration::from_millis(if i == 0 { 30 } else { 5 }));
                log.lock().unwrap().push(("end", i));
            },
            |_| true,
        );
        let log = log.into_inner().unwrap();
        let at = |what: &str, i: usize| log.iter().position(|e| *e == (what, i)).unwrap();
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                assert!(
                    at("end", d) < at("start", i),
                    "{i} started before {d} ended: {log:?}"
                );
            }
        }
        // Job 5 needs nothing: it does not wait behind job 0.
        assert!(at("start", 5) < at("end", 0), "{log:?}");
    }

    #[test]
    fn a_failed_dependency_is_reported_to_its_dependents() {
        // 0 fails, 1 succeeds; 2 needs 0; 3 needs 1; 4 needs 1 then 0; 5 needs 0 and 6 (6 fails too);
        // 7 needs 2, which ran (it was told about 0) and judged its own result.
        let deps = vec![
            vec![],
            vec![],
            vec![0],
            vec![1],
            vec![1, 0],
            vec![6, 0],
            vec![],
            vec![2],
        ];
        let out = run_jobs(
            &deps,
            3,
            |i, failed| (i, failed),
            |&(i, failed)| !matches!(i, 0 | 6) && failed.is_none(),
        );
        let told: Vec<Option<usize>> = out.into_iter().map(|r| r.unwrap().1).collect();
        assert_eq!(
            told,
            vec![None, None, Some(0), None, Some(0), Some(6), None, Some(2)]
        );
    }

    #[test]
    fn never_more_than_the_worker_count_run_at_once() {
        for workers in [1, 3] {
            let running = AtomicUsize::new(0);
            let max = AtomicUsize::new(0);
            run_jobs(
                &vec![Vec::new(); 12],
                workers,
                |_, _| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    // Wait until the pool is full (or 2 s), so more workers than allowed would show.
                    let t = Instant::now();
                    while running.load(Ordering::SeqCst) < workers
                        && t.elapsed() < Duration::from_secs(2)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                },
                |_| true,
            );
            assert_eq!(max.load(Ordering::SeqCst), workers);
        }
        // Zero workers still runs (one).
        assert_eq!(run_jobs(&[vec![]], 0, |i, _| i, |_| true), vec![Some(0)]);
    }

    #[test]
    fn an_impossible_order_returns_instead_of_deadlocking() {
        // 0 and 1 wait for each other, 2 waits for itself, 3 for a job that does not exist; 4 runs.
        let out = within_10s(|| {
            run_jobs(
                &[vec![1], vec![0], vec![2], vec![9], vec![]],
                4,
                |i, _| i,
                |_| true,
            )
        });
        assert_eq!(out, vec![None, None, None, None, Some(4)]);
    }
}
