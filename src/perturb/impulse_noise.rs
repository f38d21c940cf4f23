//! Impulse (salt-and-pepper) noise: channel values stuck at black or white, as dead or hot photosites.

use image::RgbImage;
use rand::RngCore;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "impulse_noise",
    factor: RiskFactor::Noise,
    summary: "salt-and-pepper noise: a fraction of channel values set to 0 or 255",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction of channel values replaced",
        min: 0.0,
        max: 1.0,
        default: 0.09,
        integer: false,
    }],
    // imagecorruptions' impulse_noise severities.
    severities: [&[0.03], &[0.06], &[0.09], &[0.17], &[0.27]],
    make: |p| Box::new(ImpulseNoise { amount: p.get("amount") }),
};

pub struct ImpulseNoise {
    pub amount: f64,
}

impl Perturbation for ImpulseNoise {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        // As scikit-image's `random_noise(mode='s&p')`: each channel value independently, half
        // salt and half pepper. One 16-bit draw decides both whether and which (the amount is
        // resolved to 1/65536), four to a 64-bit draw: the generator is the cost here.
        let hit = (self.amount.clamp(0.0, 1.0) * 65536.0).round() as u32;
        let pepper = hit / 2;
        let mut out = image.clone();
        for chunk in out.chunks_mut(4) {
            let bits = rng.next_u64();
            for (k, v) in chunk.iter_mut().enumerate() {
                let u = (bits >> (16 * k)) as u16 as u32;
                let noisy = if u < pepper { 0 } else { 255 };
                *v = if u < hit { noisy } else { *v };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn replaces_the_requested_fraction_half_each_way() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([128, 128, 128]));
        let out = ImpulseNoise { amount: 0.2 }.apply(&img, &mut case_rng(0, "t", 0));
        let black = out.iter().filter(|&&v| v == 0).count() as f64 / out.len() as f64;
        let white = out.iter().filter(|&&v| v == 255).count() as f64 / out.len() as f64;
        assert!((black - 0.1).abs() < 0.01 && (white - 0.1).abs() < 0.01, "{black} {white}");
        assert!(out.iter().all(|&v| v == 0 || v == 128 || v == 255));
    }

    #[test]
    fn zero_amount_changes_nothing() {
        let img = RgbImage::from_pixel(9, 9, image::Rgb([1, 2, 3]));
        assert_eq!(ImpulseNoise { amount: 0.0 }.apply(&img, &mut case_rng(0, "t", 0)), img);
    }
}
