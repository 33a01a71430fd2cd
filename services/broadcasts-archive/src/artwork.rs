//! Artwork: an uploaded image is never served as it came. Its type is taken from its bytes (JPEG,
//! PNG or WebP, whatever the client called it), it is decoded under limits that refuse
//! decompression bombs before any pixel buffer is allocated, scaled down to a bounded size and
//! re-encoded as JPEG. The result is stored under a content hash, so its URL never changes meaning
//! and may be cached for a year.

use std::io::Cursor;

use image::{ImageError, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder, imageops};
use sha2::{Digest, Sha256};

use crate::error::BroadcastError;

/// The largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// The largest image accepted, in pixels per side.
pub const MAX_INPUT_SIDE: u32 = 8192;
/// The most memory a decoder may allocate.
const MAX_DECODE_ALLOC: u64 = 300 * 1024 * 1024;
/// Artwork is stored at most this many pixels per side.
pub const MAX_OUTPUT_SIDE: u32 = 1024;
const JPEG_QUALITY: u8 = 85;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artwork {
    pub artwork_id: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Artwork {
    /// Where the gateway serves it.
    pub fn url(&self, broadcast_id: i64) -> String {
        format!(
            "/api/v1/broadcasts/{broadcast_id}/artwork/{}.jpg",
            self.artwork_id
        )
    }
}

fn format_of(bytes: &[u8]) -> Result<ImageFormat, BroadcastError> {
    match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(format),
        _ => Err(BroadcastError::UnsupportedMedia(
            "artwork must be a JPEG, PNG or WebP image".to_owned(),
        )),
    }
}

/// Checks, decodes and re-encodes an upload (CPU-bound: call it off the async threads).
pub fn reencode(bytes: &[u8]) -> Result<Artwork, BroadcastError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(BroadcastError::TooLarge(format!(
            "artwork must be at most 10 MB, not {:.1} MB",
            bytes.len() as f64 / (1024.0 * 1024.0)
        )));
    }
    let format = format_of(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let image = reader.decode().map_err(|error| match error {
        ImageError::Limits(_) => BroadcastError::InvalidInput(format!(
            "artwork must be at most {MAX_INPUT_SIDE}×{MAX_INPUT_SIDE} pixels"
        )),
        _ => BroadcastError::InvalidInput("artwork is not a readable image".to_owned()),
    })?;
    let image = if image.width() > MAX_OUTPUT_SIDE || image.height() > MAX_OUTPUT_SIDE {
        image.resize(
            MAX_OUTPUT_SIDE,
            MAX_OUTPUT_SIDE,
            imageops::FilterType::Triangle,
        )
    } else {
        image
    };
    let mut data = Vec::new();
    JpegEncoder::new_with_quality(&mut data, JPEG_QUALITY)
        .encode_image(&image.to_rgb8())
        .map_err(|_| BroadcastError::InvalidInput("artwork cannot be re-encoded".to_owned()))?;
    let digest = Sha256::digest(&data);
    let artwork_id = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Ok(Artwork {
        artwork_id,
        content_type: "image/jpeg".to_owned(),
        data,
    })
}

/// `reencode` on the blocking pool.
pub async fn reencode_blocking(bytes: Vec<u8>) -> Result<Artwork, BroadcastError> {
    tokio::task::spawn_blocking(move || reencode(&bytes))
        .await
        .unwrap_or_else(|_| {
            Err(BroadcastError::InvalidInput(
                "artwork is not a readable image".to_owned(),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgba};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = ImageBuffer::from_pixel(width, height, Rgba([200u8, 30, 90, 128]));
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    /// A PNG whose header claims `side`×`side` pixels around a tiny body: a decompression bomb's
    /// shape, without the seconds it takes to build a real one.
    pub fn bomb_png(side: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&side.to_be_bytes());
        bytes[20..24].copy_from_slice(&side.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn large_images_are_scaled_down_and_always_re_encoded_as_jpeg() {
        let artwork = reencode(&png(2048, 1024)).unwrap();
        assert_eq!(artwork.content_type, "image/jpeg");
        let decoded = image::load_from_memory(&artwork.data).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1024, 512));
        let small = reencode(&png(40, 30)).unwrap();
        assert_eq!(
            &small.data[..3],
            &[0xFF, 0xD8, 0xFF],
            "a JPEG, not the PNG sent"
        );
        assert_eq!(small.artwork_id.len(), 24);
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(4096, 0);
        assert!(matches!(
            reencode(&elf),
            Err(BroadcastError::UnsupportedMedia(_))
        ));
        let mut fake_jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake_jpeg.extend(b"MZ this is really an executable".repeat(10));
        assert!(matches!(
            reencode(&fake_jpeg),
            Err(BroadcastError::InvalidInput(_))
        ));
    }

    #[test]
    fn bombs_and_oversized_uploads_are_refused() {
        let error = reencode(&bomb_png(100_000)).unwrap_err();
        assert!(error.to_string().contains("8192"), "{error}");
        let huge = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(matches!(reencode(&huge), Err(BroadcastError::TooLarge(_))));
    }
}
