//! Input devices as cpal sees them, across the hosts this machine has (ALSA, and PulseAudio or
//! PipeWire when their server runs, which adds the "Monitor of …" loopback sources that capture what
//! the machine plays).

use cpal::traits::{DeviceTrait, HostTrait};

use crate::error::CliError;

/// One input device, as `devices` lists it and `--device` names it.
pub struct InputDevice {
    /// `host:id`, stable across runs (what `--device` takes best).
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub is_monitor: bool,
    pub device: cpal::Device,
}

/// Every input device of every available host; the default input of each host is marked.
pub fn input_devices() -> Vec<InputDevice> {
    let mut found = Vec::new();
    for host_id in cpal::available_hosts() {
        let Ok(host) = cpal::host_from_id(host_id) else {
            continue;
        };
        let default_device = host.default_input_device();
        let default_id = default_device.as_ref().and_then(|d| d.id().ok());
        let Ok(devices) = host.devices() else {
            continue;
        };
        let mut devices: Vec<cpal::Device> = devices.filter(DeviceTrait::supports_input).collect();
        // ALSA's `default` PCM is not always among the hints: list it anyway.
        if let Some(default) = default_device
            && !devices.iter().any(|d| d.id().ok() == default_id)
        {
            devices.insert(0, default);
        }
        for device in devices {
            let Ok(id) = device.id() else { continue };
            let name = device
                .description()
                .map_or_else(|_| device.to_string(), |d| d.name().to_owned());
            let is_monitor = [&id.to_string(), &name].iter().any(|text| {
                let text = text.to_ascii_lowercase();
                text.contains("monitor") || text.contains("loopback")
            });
            found.push(InputDevice {
                is_default: default_id.as_ref() == Some(&id),
                id: id.to_string(),
                name,
                is_monitor,
                device,
            });
        }
    }
    found
}

/// `devices`: one line per input device.
pub fn list() -> Result<(), CliError> {
    let devices = input_devices();
    if devices.is_empty() {
        return Err(CliError::Device(
            "No audio input device was found on this machine.".into(),
        ));
    }
    for device in devices {
        let mut marks = Vec::new();
        if device.is_default {
            marks.push("default");
        }
        if device.is_monitor {
            marks.push("monitor/loopback");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!("  [{}]", marks.join(", "))
        };
        let star = if device.is_default { '*' } else { ' ' };
        println!("{star} {}  {}{marks}", device.id, device.name);
    }
    Ok(())
}

/// The device `--device` names (its `host:id`, its id alone, or its name), or the default input.
pub fn find(name: Option<&str>) -> Result<InputDevice, CliError> {
    let devices = input_devices();
    let Some(name) = name else {
        return devices
            .into_iter()
            .find(|d| d.is_default)
            .or_else(default_of_default_host)
            .ok_or_else(|| {
                CliError::Device("This machine has no default audio input device.".into())
            });
    };
    devices
        .into_iter()
        .find(|d| matches_name(d, name))
        .or_else(|| direct_lookup(name))
        .ok_or_else(|| {
            CliError::Device(format!(
                "There is no audio input device {name:?}: `livestreamer-source devices` lists them."
            ))
        })
}

fn matches_name(device: &InputDevice, name: &str) -> bool {
    let bare_id = device.id.split_once(':').map_or("", |(_, id)| id);
    device.id == name || bare_id == name || device.name.eq_ignore_ascii_case(name)
}

/// The default host's default input, when enumeration did not list it.
fn default_of_default_host() -> Option<InputDevice> {
    let device = cpal::default_host().default_input_device()?;
    wrap(device, true)
}

/// An ALSA PCM name that enumeration does not list (e.g. one defined in `~/.asoundrc`).
fn direct_lookup(name: &str) -> Option<InputDevice> {
    let id: cpal::DeviceId = name
        .parse()
        .or_else(|_| format!("alsa:{name}").parse())
        .ok()?;
    let host = cpal::host_from_id(id.host()).ok()?;
    wrap(host.device_by_id(&id)?, false)
}

fn wrap(device: cpal::Device, is_default: bool) -> Option<InputDevice> {
    let id = device.id().ok()?.to_string();
    Some(InputDevice {
        name: device.to_string(),
        is_monitor: id.contains("monitor"),
        id,
        is_default,
        device,
    })
}
