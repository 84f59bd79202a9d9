//! Host tests of the executor's wire choice over in-memory backends ([`Fake`]): which wire each send
//! and receive is asked for (push, pull, relay, fallbacks), that the streams arrive, the run's
//! notices and the step report's unchecked streams.

mod common;
use common::fake::Fake;
use common::host::{job, tree};

use zfs_core::Wire;
use zfs_sync::{
    CopyMover, Events, Executor, Mover, Outcome, PipelineMover, Report, StreamInfo, SyncOptions,
};

/// `p/a` with a child and one snapshot on `src`, nothing yet on `tgt`'s pool `b`.
fn hosts(src: Fake, tgt: Fake) -> (Fake, Fake) {
    src.filesystems(&["p/a", "p/a/b"]);
    src.snap_r("p/a", "s1");
    src.clear_calls();
    (src, tgt)
}

/// No sync snapshot (the tests name theirs), one worker (calls in a fixed order), `compress`.
fn opts(compress: Option<Wire>) -> SyncOptions {
    SyncOptions {
        sync_snapshot: false,
        jobs: 1,
        compress,
        ..job(1)
    }
}

/// A pipeline mover without the in-transit check (a fake's stream is no ZFS stream).
const UNCHECKED: PipelineMover<'static> = PipelineMover {
    buffer: None,
    rate_limit: None,
    verify: false,
    progress: None,
};

/// Runs `src` → `tgt` (`p/a` → `b/a`) twice: in full, then an incremental to `s2`. Both must sync
/// with the source's guids on the target. Returns the second report.
fn full_then_incremental(src: &Fake, tgt: &Fake, mover: &dyn Mover, o: &SyncOptions) -> Report {
    let ex = Executor {
        mover,
        ..Executor::new(src, tgt)
    };
    let first = ex.run(&tree("p/a", "b/a"), o).unwrap();
    synced(&first);
    src.snap_r("p/a", "s2");
    let second = ex.run(&tree("p/a", "b/a"), o).unwrap();
    synced(&second);
    assert_eq!(second.notices, first.notices, "the same choice each run");
    for (s, t) in [("p/a", "b/a"), ("p/a/b", "b/a/b")] {
        assert_eq!(tgt.snaps(t), src.snaps(s), "{s} -> {t}");
    }
    second
}

fn synced(r: &Report) {
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert!(
        r.datasets.iter().all(|d| d.outcome == Outcome::Synced),
        "{}",
        r.to_json()
    );
}

/// The `send` and `receive` calls of both hosts.
fn streams(src: &Fake, tgt: &Fake) -> (Vec<String>, Vec<String>) {
    (src.calls_of(&["send"]), tgt.calls_of(&["receive"]))
}

#[test]
fn push_compresses_on_the_remote_receive_by_default() {
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    let r = full_then_incremental(&src, &tgt, &UNCHECKED, &opts(None));
    assert!(r.notices.is_empty(), "{:?}", r.notices);
    let (sends, receives) = streams(&src, &tgt);
    assert!(
        sends.iter().all(|c| !c.contains("wire=")),
        "a local send is plain: {sends:?}"
    );
    assert_eq!(receives.len(), 4, "{receives:?}");
    assert!(
        receives.iter().all(|c| c.ends_with(" wire=zstd-3")),
        "{receives:?}"
    );
}

#[test]
fn pull_compresses_on_the_remote_send() {
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, true),
        Fake::new("localhost", &["b"]),
    );
    full_then_incremental(&src, &tgt, &UNCHECKED, &opts(Some(Wire::Lz4)));
    let (sends, receives) = streams(&src, &tgt);
    assert_eq!(
        sends.len(),
        2,
        "the incremental run's (snap_r forgets calls): {sends:?}"
    );
    assert!(sends.iter().all(|c| c.ends_with(" wire=lz4")), "{sends:?}");
    assert!(
        receives.iter().all(|c| !c.contains("wire=")),
        "a local receive is plain: {receives:?}"
    );
}

#[test]
fn remote_to_remote_relays_the_same_wire_and_reports_it_unchecked() {
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, false),
        Fake::new("backup1", &["b"]).remote(true, false),
    );
    // The check is on: a relay cannot make it, and the report says so for every stream.
    let mover = PipelineMover::default();
    let r = full_then_incremental(&src, &tgt, &mover, &opts(Some(Wire::Zstd { level: 19 })));
    let (sends, receives) = streams(&src, &tgt);
    assert!(
        sends.iter().all(|c| c.ends_with(" wire=zstd-19")),
        "{sends:?}"
    );
    assert!(
        receives.iter().all(|c| c.ends_with(" wire=zstd-19")),
        "{receives:?}"
    );
    for d in &r.datasets {
        for s in &d.steps {
            assert!(s.checked.is_empty(), "{}", r.to_json());
            assert_eq!(s.unchecked.len(), s.streams as usize, "{}", r.to_json());
            for u in &s.unchecked {
                assert!(u.stream.starts_with(d.source.as_str()), "{u:?}");
                assert!(u.reason.starts_with("relayed zstd-19 "), "{u:?}");
            }
        }
    }
    let json = r.to_json();
    assert!(json.contains("\"unchecked\": ["), "{json}");
}

#[test]
fn a_remote_end_without_the_program_goes_plain_with_one_notice_per_run() {
    // The target has lz4 but not zstd: the receive is plain, and the run says why, once.
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("backup1", &["b"]).remote(false, true),
    );
    let r = full_then_incremental(&src, &tgt, &UNCHECKED, &opts(None));
    assert_eq!(
        r.notices,
        ["backup1 has no `zstd`: streams to backup1 are not compressed (zstd-3 asked for; install \
          zstd there)"]
    );
    let (sends, receives) = streams(&src, &tgt);
    assert!(
        sends.iter().chain(&receives).all(|c| !c.contains("wire=")),
        "{sends:?} {receives:?}"
    );
    assert!(r.to_json().contains("\"notices\": ["));
    // Relay with one end lacking it: the other end still compresses, the mover decompresses.
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, true),
        Fake::new("backup1", &["b"]).remote(false, false),
    );
    let r = full_then_incremental(&src, &tgt, &UNCHECKED, &opts(None));
    assert_eq!(r.notices.len(), 1, "{:?}", r.notices);
    let (sends, receives) = streams(&src, &tgt);
    assert!(
        sends.iter().all(|c| c.ends_with(" wire=zstd-3")),
        "{sends:?}"
    );
    assert!(
        receives.iter().all(|c| !c.contains("wire=")),
        "{receives:?}"
    );
}

#[test]
fn none_asked_local_to_local_and_a_copying_mover_stay_plain() {
    let plain = |src: &Fake, tgt: &Fake| {
        let (sends, receives) = streams(src, tgt);
        assert!(
            sends.iter().chain(&receives).all(|c| !c.contains("wire=")),
            "{sends:?} {receives:?}"
        );
    };
    // --compress none with a remote end: plain, nothing to say.
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    let r = full_then_incremental(&src, &tgt, &UNCHECKED, &opts(Some(Wire::Plain)));
    assert!(r.notices.is_empty());
    plain(&src, &tgt);
    // Local to local whatever is asked (the local fake refuses any other wire anyway).
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("localhost", &["b"]),
    );
    let r = full_then_incremental(&src, &tgt, &UNCHECKED, &opts(Some(Wire::ZSTD)));
    assert!(r.notices.is_empty());
    plain(&src, &tgt);
    // A mover that cannot convert: push goes plain, and the run says why.
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    let r = full_then_incremental(&src, &tgt, &CopyMover, &opts(None));
    assert_eq!(r.notices.len(), 1, "{:?}", r.notices);
    assert!(
        r.notices[0].starts_with("the mover does not compress"),
        "{:?}",
        r.notices
    );
    plain(&src, &tgt);
    // ... while a relay passes through it compressed.
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, true),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    let r = full_then_incremental(&src, &tgt, &CopyMover, &opts(Some(Wire::Lz4)));
    assert!(r.notices.is_empty());
    let (sends, receives) = streams(&src, &tgt);
    assert!(sends
        .iter()
        .chain(&receives)
        .all(|c| c.ends_with(" wire=lz4")));
}

/// Hears stream progress (so the mover asks for estimates).
struct Watching;
impl Events for Watching {
    fn stream_progress(&self, _: &StreamInfo, _: &zfs_sync::ProgressSnapshot) {}
}

#[test]
fn a_compressed_relay_asks_for_no_estimate() {
    let watching = Watching;
    let mover = PipelineMover {
        progress: Some(&watching),
        ..UNCHECKED
    };
    // Push: the estimate is asked for (progress counts plain stream bytes).
    let (src, tgt) = hosts(
        Fake::new("localhost", &["p"]),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    full_then_incremental(&src, &tgt, &mover, &opts(None));
    assert!(!src.calls_of(&["send_space"]).is_empty());
    // Relay: progress counts compressed bytes, so an estimate of plain bytes would mislead.
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, true),
        Fake::new("backup1", &["b"]).remote(true, true),
    );
    full_then_incremental(&src, &tgt, &mover, &opts(None));
    assert_eq!(src.calls_of(&["send_space"]), Vec::<String>::new());
}

/// A push from a source that estimates streams in-process (libzfs_core): streams smaller than
/// `small_stream` go plain and not bulk (the remote's control session), bigger ones take the run's
/// wire; `small_stream = 0` routes every stream as the run says.
#[test]
fn small_streams_from_an_in_process_source_cross_plain_and_not_bulk() {
    for (limit, small) in [(zfs_sync::SMALL_STREAM, true), (1, false), (0, false)] {
        let (src, tgt) = hosts(
            Fake::new("localhost", &["p"]).in_process(),
            Fake::new("backup1", &["b"]).remote(true, true),
        );
        let o = SyncOptions {
            small_stream: limit,
            ..opts(None)
        };
        full_then_incremental(&src, &tgt, &UNCHECKED, &o);
        let (sends, receives) = streams(&src, &tgt);
        assert_eq!(receives.len(), 4, "{receives:?}");
        // One in-process estimate per send (none when routing is off).
        let estimates = src.calls_of(&["send_space"]).len();
        assert_eq!(
            estimates,
            if limit > 0 { sends.len() } else { 0 },
            "{sends:?}"
        );
        assert!(!sends.is_empty());
        for c in sends.iter().chain(&receives) {
            if small {
                assert!(c.ends_with(" small") && !c.contains("wire="), "{c}");
            } else {
                assert!(!c.contains("small"), "{c}");
            }
        }
        if !small {
            assert!(
                receives.iter().all(|c| c.ends_with(" wire=zstd-3")),
                "{receives:?}"
            );
        }
    }
}

/// A pull from a remote source is not estimated for routing (that would cost a remote `zfs send
/// -nP` per stream): its streams keep the run's wire.
#[test]
fn streams_from_a_remote_source_are_not_estimated_for_routing() {
    let (src, tgt) = hosts(
        Fake::new("nas1", &["p"]).remote(true, true),
        Fake::new("localhost", &["b"]).in_process(),
    );
    full_then_incremental(&src, &tgt, &UNCHECKED, &opts(None));
    assert!(src.calls_of(&["send_space"]).is_empty());
    let (sends, _) = streams(&src, &tgt);
    assert!(
        sends.iter().all(|c| c.ends_with(" wire=zstd-3")),
        "{sends:?}"
    );
}
