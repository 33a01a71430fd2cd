//! PCM audio on its way to the encoder: sources (device capture, tone, WAV file), the lock-free ring
//! they write into, format conversion, the level meter and the WAV recording.

pub mod capture;
pub mod convert;
pub mod meter;
pub mod paced;
pub mod ring;
pub mod wav;
