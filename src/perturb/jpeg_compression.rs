//! JPEG compression artifacts: encode at a given quality and decode again.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::seed::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "jpeg_compression",
    factor: RiskFactor::ImageQuality,
    summary: "JPEG re-encoding at a low quality",
    params: &[ParamInfo { name: "quality", unit: "JPEG quality 1-100", min: 1.0, max: 100.0, default: 20.0 }],
    // imagecorruptions' jpeg_compression severities.
    severities: [&[25.0], &[18.0], &[15.0], &[10.0], &[7.0]],
    build: |v| Box::new(JpegCompression { quality: v[0].round() as u8 }),
};

pub struct JpegCompression {
    pub quality: u8,
}

impl Perturbation for JpegCompression {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let mut bytes = Vec::new();
        let encoded = JpegEncoder::new_with_quality(Cursor::new(&mut bytes), self.quality.max(1)).encode_image(image);
        // Encoding into memory only fails for empty images; those have nothing to degrade.
        if encoded.is_err() {
            return image.clone();
        }
        match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
            Ok(decoded) => decoded.into_rgb8(),
            Err(_) => image.clone(),
        }
    }
}
