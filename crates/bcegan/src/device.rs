//! The CPU device that the commands run on.

use burn::tensor::Device;

/// Returns burn's `flex` CPU device, the backend that the `flex` feature (on by default)
/// builds in.
#[cfg(feature = "flex")]
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Returns burn's default device. Without the `flex` feature, as in the fuzz targets that
/// only call the parsers, no CPU backend is built in.
// NOTE: burn panics here when no backend feature is enabled at all. Only a library build
// without `flex` can reach this, and its commands that need a device are then unusable.
#[cfg(not(feature = "flex"))]
pub fn cpu_device() -> Device {
    Device::default()
}

/// Returns whether `device` is a flex device, with or without autodiff: the backend that the
/// fused training operations (Adam, BatchNorm with ReLU) run on.
#[cfg(feature = "flex")]
pub fn is_flex(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        burn::backend::DispatchDevice::Flex(_)
    )
}

/// Returns false: without the `flex` feature no fused operation is built in.
#[cfg(not(feature = "flex"))]
pub fn is_flex(_device: &Device) -> bool {
    false
}
