//! No fd is leaked and no thread is left behind when a pipe fails
//! (its own test binary, so no other test opens fds meanwhile).

use std::fs::File;
use std::io::Read;
use std::process::{Command, Stdio};

use zfs_stream::record::build::synthetic_stream;
use zfs_stream::record::ByteOrder;
use zfs_stream::{Codec, Pipeline};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn failing_pipes_close_every_fd_and_join_every_thread() {
    let path = std::env::temp_dir().join(format!("zfs-stream-fdleak-{}", std::process::id()));
    let data = synthetic_stream(4 << 20, ByteOrder::Little);
    let mut bad = data.clone();
    bad[data.len() / 2] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let fds0 = open_fds();
    let threads0 = threads();
    for round in 0..8 {
        // Sink error (receiver exits early) on every path.
        let mut child = Command::new("head")
            .args(["-c", "5000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut p = Pipeline::new(File::open(&path).unwrap(), stdin);
        match round % 4 {
            0 => {}
            1 => p = p.buffer(1 << 20),
            2 => p = p.inspect(true),
            _ => p = p.compress(Codec::Lz4).inspect(false),
        }
        assert!(p.run().is_err());
        child.wait().unwrap();
        // Inspection error with a live reader.
        let (mut r, w) = os_pipe().unwrap();
        let t = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
        });
        let p = Pipeline::new(File::open(&path).unwrap(), w).inspect(true);
        // Buffered with compression, and spliced (inspected through a tee duplicate).
        let p = if round % 2 == 0 {
            p.compress(Codec::Zstd { level: 1 })
        } else {
            p
        };
        assert!(p.run().is_err());
        t.join().unwrap();
    }
    assert_eq!(open_fds(), fds0, "fds leaked");
    assert_eq!(threads(), threads0, "threads left running");
    let _ = std::fs::remove_file(&path);
}

/// (read end, write end) of a new pipe, as Files.
fn os_pipe() -> std::io::Result<(File, File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}
