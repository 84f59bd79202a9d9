//! Lab tests: real `zfs send` -> Pipeline -> `zfs recv` (run: `cargo xtask lab test lab_pipe`).
//! State is read back with the real `zfs` CLI (guids, file contents, resume tokens).

use std::fs::File;
use std::process::{Child, Command, Stdio};

use zfs_stream::{resume, Codec, PipeError, Pipeline, StreamError};
use zsync_lab::TestPool;

type R = Result<(), Box<dyn std::error::Error>>;

fn zfs_cmd(args: &[&str]) -> Command {
    let mut c = Command::new("zfs");
    c.args(args).env("LC_ALL", "C");
    c
}

fn send(args: &[&str]) -> Result<Child, std::io::Error> {
    zfs_cmd(args).stdout(Stdio::piped()).spawn()
}

fn recv(args: &[&str]) -> Result<Child, std::io::Error> {
    zfs_cmd(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

fn setup(pool: &TestPool) -> R {
    pool.zfs(&["create", &pool.dataset("src")])?;
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    pool.write_file("src/text.txt", &text)?;
    pool.write_file("src/small.txt", b"hello")?;
    pool.zfs(&["snapshot", &pool.dataset("src@s1")])?;
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn send_compress_decompress_inspect_recv() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("zsp")?;
    setup(&pool)?;
    let mut s = send(&["send", &pool.dataset("src@s1")])?;
    let mut r = recv(&["recv", &pool.dataset("dst")])?;
    // sender side: compress into a pipe; receiver side: decompress + inspect into zfs recv.
    let (wire_r, wire_w) = zfs_stream::pipe::os_pipe()?;
    let sender = Pipeline::new(s.stdout.take().ok_or("no stdout")?, wire_w)
        .compress(Codec::Zstd { level: 1 })
        .inspect(true);
    let receiver = Pipeline::new(wire_r, r.stdin.take().ok_or("no stdin")?)
        .decompress(Codec::Zstd { level: 1 })
        .inspect(true)
        .buffer(8 << 20);
    let t = std::thread::spawn(move || sender.run());
    let rep = receiver.run()?;
    let srep = t.join().map_err(|_| "sender thread panicked")??;
    assert!(s.wait()?.success());
    let out = r.wait_with_output()?;
    assert!(
        out.status.success(),
        "zfs recv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = rep.summary.ok_or("no summary")?;
    assert!(sum.complete && !sum.is_incremental());
    assert_eq!(
        sum.begin().ok_or("no begin")?.toname,
        pool.dataset("src@s1")
    );
    assert_eq!(srep.summary, Some(sum.clone()));
    assert_eq!(srep.stream_bytes, rep.stream_bytes);
    assert_eq!(
        pool.guid(&pool.dataset("dst@s1"))?,
        pool.guid(&pool.dataset("src@s1"))?
    );
    assert_eq!(
        format!("{:#x}", sum.begin().ok_or("no begin")?.toguid),
        format!("{:#x}", pool.guid(&pool.dataset("src@s1"))?.parse::<u64>()?)
    );
    assert_eq!(pool.read_file("dst/small.txt")?, b"hello");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn corrupt_stream_never_completes_the_receive() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("zsc")?;
    setup(&pool)?;
    let path = zsync_lab::lab_dir()?.join(format!("zsc-{}.zstream", std::process::id()));
    let out = zfs_cmd(&["send", &pool.dataset("src@s1")]).output()?;
    assert!(out.status.success());
    let mut data = out.stdout;
    let mid = data.len() / 2;
    data[mid] ^= 0x01;
    std::fs::write(&path, &data)?;
    let mut r = recv(&["recv", &pool.dataset("bad")])?;
    let err = Pipeline::new(File::open(&path)?, r.stdin.take().ok_or("no stdin")?)
        .inspect(true)
        .buffer(1 << 20)
        .run()
        .expect_err("corruption must fail the pipe");
    let PipeError::Stream { error, .. } = &err else {
        return Err(format!("unexpected error: {err}").into());
    };
    assert!(
        matches!(
            error,
            StreamError::ChecksumMismatch { .. } | StreamError::EndChecksumMismatch { .. }
        ),
        "{err}"
    );
    let out = r.wait_with_output()?;
    assert!(
        !out.status.success(),
        "zfs recv must fail on an aborted stream"
    );
    assert!(zsync_lab::zfs(&["list", "-H", &pool.dataset("bad@s1")]).is_err());
    let _ = std::fs::remove_file(&path);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn truncated_stream_then_resume_with_decoded_token() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("zsr")?;
    setup(&pool)?;
    let out = zfs_cmd(&["send", "-c", &pool.dataset("src@s1")]).output()?;
    assert!(out.status.success());
    let full = out.stdout;
    let path = zsync_lab::lab_dir()?.join(format!("zsr-{}.zstream", std::process::id()));
    std::fs::write(&path, &full[..full.len() * 2 / 3])?;
    let mut r = recv(&["recv", "-s", &pool.dataset("dst")])?;
    let err = Pipeline::new(File::open(&path)?, r.stdin.take().ok_or("no stdin")?)
        .inspect(true)
        .run()
        .expect_err("truncation must fail the pipe");
    assert!(
        matches!(
            err,
            PipeError::Stream {
                error: StreamError::Truncated { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(!r.wait_with_output()?.status.success());
    let token = pool.get("receive_resume_token", &pool.dataset("dst"))?;
    let t = resume::decode(&token)?;
    assert_eq!(t.toname, pool.dataset("src@s1"));
    assert_eq!(t.toguid.to_string(), pool.guid(&pool.dataset("src@s1"))?);
    assert!(t.compressed && t.bytes > 0);
    // Resume: zfs send -t TOKEN -> pipeline (inspect) -> zfs recv -s.
    let mut s = send(&["send", "-t", &token])?;
    let mut r = recv(&["recv", "-s", &pool.dataset("dst")])?;
    let rep = Pipeline::new(
        s.stdout.take().ok_or("no stdout")?,
        r.stdin.take().ok_or("no stdin")?,
    )
    .inspect(true)
    .run()?;
    assert!(s.wait()?.success());
    let out = r.wait_with_output()?;
    assert!(
        out.status.success(),
        "resumed recv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = rep.summary.ok_or("no summary")?;
    let payload = sum.substreams[0]
        .payload
        .clone()
        .ok_or("no resume payload")?;
    assert_eq!(payload.get_u64("resume_object"), Some(t.object));
    assert_eq!(payload.get_u64("resume_offset"), Some(t.offset));
    assert_eq!(
        pool.guid(&pool.dataset("dst@s1"))?,
        pool.guid(&pool.dataset("src@s1"))?
    );
    let _ = std::fs::remove_file(&path);
    Ok(())
}
