//! Throughput of zfs-ssh's data paths: N MiB pushed into a remote `cat > /dev/null` and pulled from a
//! remote `head -c N /dev/zero`, over ssh2 channels and over the OpenSSH master, against a plain
//! `ssh HOST cat` run. Prints MiB/s and client CPU seconds per GiB (this process, its reaped `ssh`
//! children, and the OpenSSH master, which does the encryption for multiplexed sessions).
//!
//! ```text
//! cargo run --release -p zfs-ssh --example throughput -- [user@]host[:port] \
//!     [--key FILE] [--known-hosts FILE] [--mib N]
//! ```

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;
use zfs_core::runner::{Cmd, Io};
use zfs_core::RemoteHost;
use zfs_ssh::{connect, ConfigFile, SshOptions, Transport};

fn cpu_self_and_children() -> f64 {
    let mut s = 0.0;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage fills the struct we pass.
        let u = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        for t in [u.ru_utime, u.ru_stime] {
            s += t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        }
    }
    s
}

/// utime + stime of a process, in seconds (0 when it is gone).
fn cpu_of(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (get(11) + get(12)) / ticks
}

/// Pushes or pulls `mib` MiB through `start` (which returns the child's stream end and a finisher).
fn measure(label: &str, mib: u64, master: impl Fn() -> Option<u32>, body: impl FnOnce()) {
    let (c0, m0) = (cpu_self_and_children(), cpu_of(master()));
    let t = Instant::now();
    body();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_self_and_children() - c0 + (cpu_of(master()) - m0);
    let gib = mib as f64 / 1024.0;
    println!("| {label} | {:.0} | {:.2} |", mib as f64 / wall, cpu / gib);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dest = args
        .next()
        .ok_or("usage: throughput [user@]host[:port] [--key F] [--known-hosts F] [--mib N]")?;
    let mut opts = SshOptions {
        config: ConfigFile::Default,
        ..SshOptions::default()
    };
    let mut mib: u64 = 1024;
    while let Some(a) = args.next() {
        let v = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--key" => opts.identity = Some(v.into()),
            "--known-hosts" => opts.known_hosts = Some(v.into()),
            "--mib" => mib = v.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let (user, hostport) = match dest.split_once('@') {
        Some((u, h)) => (Some(u.to_owned()), h.to_owned()),
        None => (None, dest.clone()),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), Some(p.parse()?)),
        None => (hostport, None),
    };
    let remote = RemoteHost { user, host, port };
    let size = (mib << 20).to_string();
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();

    println!("| path | MiB/s | client CPU-s/GiB |\n|---|---|---|");
    for transport in [Transport::Ssh2, Transport::OpenSsh] {
        opts.transport = transport;
        let conn = connect(&remote, &opts)?;
        let r = conn.runner();
        // Start the master (OpenSSH) before measuring.
        r.run(&Cmd::new(["true"]).bulk(true))?;
        let master = || conn.ssh_runner().openssh_master_pid();
        let pid = master();
        let master = || pid;
        measure(&format!("zsync {transport:?} push"), mib, master, || {
            let mut run = r
                .spawn(
                    &Cmd::new(["sh", "-c", "cat > /dev/null"])
                        .stdin(Io::Piped)
                        .bulk(true),
                )
                .expect("spawn");
            let mut stdin = File::from(run.take_stdin().expect("stdin"));
            for _ in 0..mib {
                stdin.write_all(&chunk).expect("write");
            }
            drop(stdin);
            assert!(run.wait().expect("wait").0.success());
        });
        measure(&format!("zsync {transport:?} pull"), mib, master, || {
            let mut run = r
                .spawn(&Cmd::new(["head", "-c", &size, "/dev/zero"]).bulk(true))
                .expect("spawn");
            let mut stdout = File::from(run.take_stdout().expect("stdout"));
            let n = std::io::copy(&mut stdout, &mut std::io::sink()).expect("read");
            assert_eq!(n, mib << 20);
            assert!(run.wait().expect("wait").0.success());
        });
        conn.close();
    }

    // Plain OpenSSH, the same options as zfs-ssh's data path would use.
    let conn = connect(
        &remote,
        &SshOptions {
            transport: Transport::Ssh2,
            ..opts.clone()
        },
    )?;
    let t = conn.target().clone();
    conn.close();
    let ssh = |remote_cmd: &str| {
        let mut c = Command::new("ssh");
        c.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-p",
            &t.port.to_string(),
            "-l",
            &t.user,
        ]);
        c.args(["-c", &t.openssh_ciphers]);
        for k in &t.known_hosts {
            c.arg("-o")
                .arg(format!("UserKnownHostsFile={}", k.display()));
        }
        for id in &t.identities {
            if let zfs_ssh::Identity::File(p) = id {
                if p.is_file() {
                    c.arg("-i").arg(p);
                }
            }
        }
        c.args(["--", &t.address, remote_cmd]);
        c
    };
    measure(
        "plain ssh push",
        mib,
        || None,
        || {
            let mut child = ssh("cat > /dev/null")
                .stdin(Stdio::piped())
                .spawn()
                .expect("ssh");
            let mut stdin = child.stdin.take().expect("stdin");
            for _ in 0..mib {
                stdin.write_all(&chunk).expect("write");
            }
            drop(stdin);
            assert!(child.wait().expect("wait").success());
        },
    );
    measure(
        "plain ssh pull",
        mib,
        || None,
        || {
            let mut child = ssh(&format!("head -c {size} /dev/zero"))
                .stdout(Stdio::piped())
                .spawn()
                .expect("ssh");
            let mut out = child.stdout.take().expect("stdout");
            let mut buf = vec![0u8; 1 << 20];
            let mut n = 0u64;
            loop {
                let k = out.read(&mut buf).expect("read");
                if k == 0 {
                    break;
                }
                n += k as u64;
            }
            assert_eq!(n, mib << 20);
            assert!(child.wait().expect("wait").success());
        },
    );
    Ok(())
}
