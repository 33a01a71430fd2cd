use super::*;

fn frame(n: u8) -> Bytes {
    let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
    frame.resize(417, n);
    Bytes::from(frame)
}

#[tokio::test]
async fn frames_are_appended_in_order_and_a_later_session_continues_the_file() {
    let dir = std::env::temp_dir().join(format!("relay-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = Recorder::start(&dir, 9);
    for n in 0..3 {
        first.write(frame(n));
    }
    assert_eq!(first.finish().await, 3 * 417);
    let second = Recorder::start(&dir, 9);
    second.write(frame(3));
    assert_eq!(second.finish().await, 417);
    let file = std::fs::read(path_of(&dir, 9)).unwrap();
    let expected: Vec<u8> = (0..4).flat_map(|n| frame(n).to_vec()).collect();
    assert_eq!(file, expected);
    assert_eq!(second.dropped(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_unwritable_folder_records_nothing_and_harms_nothing() {
    let recorder = Recorder::start(Path::new("/proc/no-such-place"), 1);
    recorder.write(frame(0));
    assert_eq!(recorder.finish().await, 0);
    recorder.write(frame(1)); // after the end: ignored
}
