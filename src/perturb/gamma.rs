//! Gamma: a wrong tone curve (linear data shown as sRGB, a camera's or display's curve off).

use image::RgbImage;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "gamma",
    factor: RiskFactor::Lighting,
    summary: "power-law tone curve: out = 255 * (in / 255)^gamma (above 1 darkens mid-tones)",
    params: &[ParamInfo {
        name: "gamma",
        unit: "exponent (1 = unchanged)",
        min: 0.05,
        max: 10.0,
        default: 1.25,
        integer: false,
    }],
    // Severities 2-3 are the edge of albumentations' RandomGamma default range (0.8-1.2); 2.2 is
    // the sRGB exponent, what linear data read as sRGB looks like.
    severities: [&[1.1], &[1.15], &[1.25], &[1.5], &[2.2]],
    make: |p| Box::new(Gamma { gamma: p.get("gamma") as f32 }),
};

pub struct Gamma {
    pub gamma: f32,
}

impl Perturbation for Gamma {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        // One power per byte value, not per channel value.
        let lut: [u8; 256] = std::array::from_fn(|v| round_u8(255.0 * (v as f32 / 255.0).powf(self.gamma)));
        // One pass that writes the new buffer (not a copy, then a second pass over it).
        super::simd::map_bytes(image, &lut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn all_values() -> RgbImage {
        RgbImage::from_fn(256, 1, |x, _| image::Rgb([x as u8, 255 - x as u8, (x * 7 % 256) as u8]))
    }

    #[test]
    fn gamma_one_is_identity() {
        let img = all_values();
        assert_eq!(Gamma { gamma: 1.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
    }

    #[test]
    fn gamma_two_squares_and_keeps_the_ends() {
        let out = Gamma { gamma: 2.0 }.apply(&all_values(), &mut case_rng(0, "", 0));
        // 255 * (128 / 255)^2 = 64.25.
        assert_eq!(out.get_pixel(128, 0)[0], 64);
        assert_eq!((out.get_pixel(0, 0)[0], out.get_pixel(255, 0)[0]), (0, 255));
    }
}
