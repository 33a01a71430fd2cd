use std::io::Cursor;

use super::*;

fn sine(frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let s = (i as f32 * 0.05).sin() * 0.5;
            [s, -s]
        })
        .collect()
}

#[test]
fn a_written_wav_reads_back_with_its_duration_and_samples() {
    let mut writer = WavWriter::new(Cursor::new(Vec::new()), 8000, 2).unwrap();
    let samples = sine(12_000);
    for block in samples.chunks(999) {
        writer.write(block).unwrap();
    }
    assert!((writer.duration_secs() - 1.5).abs() < 1e-9);
    let bytes = writer.finish().unwrap().into_inner();
    assert_eq!(bytes.len(), 44 + 12_000 * 4);
    let mut reader = WavReader::new(Cursor::new(bytes)).unwrap();
    assert_eq!((reader.rate, reader.channels), (8000, 2));
    assert_eq!(reader.encoding, Encoding::Int { bits: 16 });
    let mut read = vec![0.0; samples.len() + 10];
    let mut total = 0;
    while let n @ 1.. = reader.read(&mut read[total..]).unwrap() {
        total += n;
    }
    assert_eq!(total, samples.len());
    assert!(
        read.iter()
            .zip(&samples)
            .all(|(a, b)| (a - b).abs() < 1.0 / 16_000.0)
    );
}

#[test]
fn the_header_is_valid_after_each_second_without_finishing() {
    let mut writer = WavWriter::new(Cursor::new(Vec::new()), 1000, 1).unwrap();
    writer.write(&vec![0.25; 2500]).unwrap();
    // As if the process died here: no finish().
    let bytes = writer.out.get_ref().clone();
    let reader = WavReader::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        reader.remaining, 5000,
        "the header counts the 2.5 s already synced"
    );
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
        36 + 5000
    );
}

/// A disk that fills up after `room` bytes.
struct FullDisk {
    file: Cursor<Vec<u8>>,
    room: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let position = self.file.position() as usize;
        let free = self.room.saturating_sub(position);
        if free == 0 && !buf.is_empty() {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        self.file.write(&buf[..buf.len().min(free)])
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FullDisk {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}

#[test]
fn a_full_disk_leaves_a_valid_header_for_what_was_written() {
    let disk = FullDisk {
        file: Cursor::new(Vec::new()),
        room: 44 + 1001,
    };
    let mut writer = WavWriter::new(disk, 1000, 2).unwrap();
    let error = writer.write(&vec![0.5; 2000]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    let bytes = writer.repair().unwrap().file.into_inner();
    let reader = WavReader::new(Cursor::new(bytes)).unwrap();
    assert_eq!(reader.remaining, 1000, "whole frames that reached the disk");
}

#[test]
fn wav_inputs_of_every_common_encoding_decode_to_the_same_level() {
    for (tag, bits, bytes) in [
        (1u16, 8u16, vec![192u8]),
        (1, 16, 16384i16.to_le_bytes().to_vec()),
        (1, 24, vec![0, 0, 0x40]),
        (1, 32, 0x4000_0000i32.to_le_bytes().to_vec()),
        (3, 32, 0.5f32.to_le_bytes().to_vec()),
        (3, 64, 0.5f64.to_le_bytes().to_vec()),
    ] {
        let mut file = Vec::new();
        file.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0");
        file.extend_from_slice(&tag.to_le_bytes());
        file.extend_from_slice(&1u16.to_le_bytes());
        file.extend_from_slice(&44_100u32.to_le_bytes());
        file.extend_from_slice(&[0; 6]);
        file.extend_from_slice(&bits.to_le_bytes());
        file.extend_from_slice(b"LIST\x02\0\0\0xy");
        file.extend_from_slice(b"data");
        file.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        file.extend_from_slice(&bytes);
        let mut reader = WavReader::new(Cursor::new(file)).unwrap();
        let mut out = [0.0; 4];
        assert_eq!(reader.read(&mut out).unwrap(), 1, "{tag}/{bits}");
        assert!((out[0] - 0.5).abs() < 1e-6, "{tag}/{bits}: {}", out[0]);
    }
}

#[test]
fn non_wav_inputs_are_refused_with_a_reason() {
    let error = WavReader::new(Cursor::new(b"ID3\x04\0\0\0\0\0\0 an mp3 file".to_vec()))
        .err()
        .unwrap();
    assert!(error.contains("not a WAV"), "{error}");
    let error = WavReader::new(Cursor::new(
        b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x55\0\x02\0\0\0\0\0\0\0\0\0\0\0\x10\0data\0\0\0\0"
            .to_vec(),
    ))
    .err()
    .unwrap();
    assert!(error.contains("unsupported"), "{error}");
}
