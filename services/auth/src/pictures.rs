//! Profile pictures: recognised by their content (never by a name or a declared type), decoded within
//! limits (a small file must not unpack into gigabytes), shrunk to fit a square, and re-encoded, so
//! what is served is always an image we wrote: no metadata, no polyglot files, a bounded size.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder};

use crate::error::AuthError;

/// The largest upload, as API.md gives it.
pub const MAX_UPLOAD_BYTES: usize = 3 * 1024 * 1024;
/// Pictures are shrunk to fit this square.
pub const MAX_SIDE: u32 = 512;
const MAX_DECODED_SIDE: u32 = 10_000;
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;

/// A re-encoded picture, ready to store and serve.
#[derive(Debug)]
pub struct Encoded {
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// Re-encodes an uploaded JPEG, PNG or WebP (pictures with transparency as PNG, others as JPEG).
pub async fn reencode(upload: Vec<u8>) -> Result<Encoded, AuthError> {
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(AuthError::TooLarge(format!(
            "picture must be at most {} MB",
            MAX_UPLOAD_BYTES / 1024 / 1024
        )));
    }
    tokio::task::spawn_blocking(move || reencode_now(&upload))
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?
}

fn reencode_now(upload: &[u8]) -> Result<Encoded, AuthError> {
    let format = image::guess_format(upload)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP))
        .ok_or_else(|| {
            AuthError::UnsupportedMedia("picture must be a JPEG, PNG or WebP image".to_owned())
        })?;
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| {
        AuthError::InvalidInput(format!("picture is not a readable {format:?} image: {e}"))
    })?;
    let fitted = if decoded.width() > MAX_SIDE || decoded.height() > MAX_SIDE {
        decoded.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        decoded
    };
    encode(fitted)
}

fn encode(picture: DynamicImage) -> Result<Encoded, AuthError> {
    let failed = |e: image::ImageError| AuthError::Internal(format!("encode a picture: {e}"));
    let mut data = Vec::new();
    if picture.color().has_alpha() {
        picture
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut data), ImageFormat::Png)
            .map_err(failed)?;
        return Ok(Encoded {
            content_type: "image/png",
            data,
        });
    }
    JpegEncoder::new_with_quality(&mut data, JPEG_QUALITY)
        .encode_image(&picture.to_rgb8())
        .map_err(failed)?;
    Ok(Encoded {
        content_type: "image/jpeg",
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut data = Vec::new();
        RgbImage::from_pixel(width, height, Rgb([200, 40, 40]))
            .write_to(&mut Cursor::new(&mut data), ImageFormat::Png)
            .unwrap();
        data
    }

    #[tokio::test]
    async fn large_opaque_pictures_become_bounded_jpegs() {
        let encoded = reencode(png(1500, 900)).await.unwrap();
        assert_eq!(encoded.content_type, "image/jpeg");
        let back = image::load_from_memory(&encoded.data).unwrap();
        assert_eq!((back.width(), back.height()), (512, 307));
    }

    #[tokio::test]
    async fn transparency_is_kept_as_png() {
        let mut data = Vec::new();
        RgbaImage::from_pixel(40, 40, Rgba([0, 0, 0, 0]))
            .write_to(&mut Cursor::new(&mut data), ImageFormat::WebP)
            .unwrap();
        let encoded = reencode(data).await.unwrap();
        assert_eq!(encoded.content_type, "image/png");
    }

    #[tokio::test]
    async fn other_content_is_refused_by_what_it_is() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        assert!(matches!(
            reencode(gif).await,
            Err(AuthError::UnsupportedMedia(_))
        ));
        let html = b"<html><script>alert(1)</script></html>".to_vec();
        assert!(matches!(
            reencode(html).await,
            Err(AuthError::UnsupportedMedia(_))
        ));
        let mut truncated = png(64, 64);
        truncated.truncate(60);
        assert!(matches!(
            reencode(truncated).await,
            Err(AuthError::InvalidInput(_))
        ));
        let huge = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(matches!(reencode(huge).await, Err(AuthError::TooLarge(_))));
    }
}
