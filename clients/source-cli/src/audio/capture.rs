//! Live capture with cpal: the device's callback only converts samples to `f32` and copies them into
//! the lock-free ring (see `ring`); everything else happens on the encoder thread.
//!
//! Whatever sample format and rate the device prefers is taken as is (its default configuration),
//! and converted afterwards, so no device is refused for its format. A device that fails mid-stream
//! (unplugged, its server gone) is reported through `lost`, which the stream checks.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use cpal::{
    FromSample, SampleFormat, SizedSample,
    traits::{DeviceTrait, StreamTrait},
};

use super::ring::{SampleConsumer, SampleProducer, sample_ring};
use crate::{devices::InputDevice, error::CliError};

/// A running capture; dropping it stops the device.
pub struct Capture {
    _stream: cpal::Stream,
    pub device_name: String,
    pub rate: u32,
    pub channels: u16,
    pub format: SampleFormat,
    /// Why the device stopped working, once it did.
    pub lost: Arc<OnceLock<String>>,
    /// Over- and underruns the device reported (not fatal).
    pub xruns: Arc<AtomicU64>,
}

/// Opens `device` in its default input configuration and starts it.
pub fn start(
    device: InputDevice,
    ring_capacity: Duration,
) -> Result<(Capture, SampleConsumer), CliError> {
    let unusable = |error: cpal::Error| {
        CliError::Device(format!(
            "The audio device {} cannot be used: {error}.",
            device.id
        ))
    };
    let config = device.device.default_input_config().map_err(unusable)?;
    let format = config.sample_format();
    let (rate, channels) = (config.sample_rate(), config.channels());
    let (producer, consumer) = sample_ring(rate, channels, ring_capacity);
    let lost = Arc::new(OnceLock::new());
    let xruns = Arc::new(AtomicU64::new(0));
    let stream_config = config.config();
    let on_error = error_handler(lost.clone(), xruns.clone());
    let stream = match format {
        SampleFormat::I8 => build::<i8>(&device, stream_config, producer, on_error),
        SampleFormat::I16 => build::<i16>(&device, stream_config, producer, on_error),
        SampleFormat::I24 => build::<cpal::I24>(&device, stream_config, producer, on_error),
        SampleFormat::I32 => build::<i32>(&device, stream_config, producer, on_error),
        SampleFormat::I64 => build::<i64>(&device, stream_config, producer, on_error),
        SampleFormat::U8 => build::<u8>(&device, stream_config, producer, on_error),
        SampleFormat::U16 => build::<u16>(&device, stream_config, producer, on_error),
        SampleFormat::U24 => build::<cpal::U24>(&device, stream_config, producer, on_error),
        SampleFormat::U32 => build::<u32>(&device, stream_config, producer, on_error),
        SampleFormat::U64 => build::<u64>(&device, stream_config, producer, on_error),
        SampleFormat::F32 => build::<f32>(&device, stream_config, producer, on_error),
        SampleFormat::F64 => build::<f64>(&device, stream_config, producer, on_error),
        other => {
            return Err(CliError::Device(format!(
                "The audio device {} delivers {other} samples, which cannot be encoded.",
                device.id
            )));
        }
    }
    .map_err(unusable)?;
    stream.play().map_err(unusable)?;
    Ok((
        Capture {
            _stream: stream,
            device_name: format!("{} ({})", device.name, device.id),
            rate,
            channels,
            format,
            lost,
            xruns,
        },
        consumer,
    ))
}

fn build<T>(
    device: &InputDevice,
    config: cpal::StreamConfig,
    mut producer: SampleProducer,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    // The real-time callback: a conversion and a copy into pre-allocated memory, nothing else.
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        producer.push(data, |sample| sample.to_sample::<f32>());
    };
    device
        .device
        .build_input_stream(config, on_data, on_error, Some(Duration::from_secs(5)))
}

/// Device errors arrive off the data path: fatal ones are kept for the stream to report.
fn error_handler(
    lost: Arc<OnceLock<String>>,
    xruns: Arc<AtomicU64>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    move |error: cpal::Error| match error.kind() {
        cpal::ErrorKind::Xrun
        | cpal::ErrorKind::DeviceChanged
        | cpal::ErrorKind::RealtimeDenied => {
            xruns.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            let _ = lost.set(error.to_string());
        }
    }
}
