//! Histogram equalisation: an auto-levels step in the capture pipeline stretching each channel.

use image::RgbImage;

use super::grayscale::{blend_u8, weight_256};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "equalize",
    factor: RiskFactor::Lighting,
    summary: "per-channel histogram equalisation (OpenCV's equalizeHist), blended in by `amount`",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction blended toward the equalised image",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
    }],
    // albumentations' Equalize (per channel, OpenCV) is all or nothing (severity 5); milder
    // severities blend part way.
    severities: [&[0.2], &[0.4], &[0.6], &[0.8], &[1.0]],
    make: |p| Box::new(Equalize { amount: p.get("amount") as f32 }),
};

pub struct Equalize {
    pub amount: f32,
}

/// OpenCV's `equalizeHist` table: the cumulative histogram, excluding the lowest occupied
/// value, stretched to 0-255. A single-valued channel keeps its value.
fn equalize_lut(hist: &[u32; 256]) -> [u8; 256] {
    let mut lut: [u8; 256] = std::array::from_fn(|v| v as u8);
    let total: u32 = hist.iter().sum();
    let Some(first) = hist.iter().position(|&n| n > 0) else { return lut };
    if hist[first] == total {
        return lut;
    }
    let scale = 255.0 / (total - hist[first]) as f32;
    let mut sum = 0u32;
    lut[first] = 0;
    for v in first + 1..256 {
        sum += hist[v];
        lut[v] = super::filters::round_u8(sum as f32 * scale);
    }
    lut
}

impl Perturbation for Equalize {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let mut hist = [[0u32; 256]; 3];
        for px in image.chunks_exact(3) {
            for c in 0..3 {
                hist[c][px[c] as usize] += 1;
            }
        }
        // Blending is per value too, so the whole perturbation is three lookup tables.
        let w = weight_256(self.amount);
        let luts = hist.map(|h| {
            let eq = equalize_lut(&h);
            let out: [u8; 256] = std::array::from_fn(|v| blend_u8(v as u8, eq[v], w));
            out
        });
        super::simd::map_channels(image, &luts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn two_levels_stretch_to_black_and_white() {
        let img = RgbImage::from_fn(4, 4, |x, _| image::Rgb([if x < 2 { 10 } else { 20 }, 100 + x as u8, 7]));
        let out = Equalize { amount: 1.0 }.apply(&img, &mut case_rng(0, "", 0));
        // Red: 10 is the lowest level (0), 20 the rest (255).
        assert!(out.pixels().all(|p| p[0] == if p[1] < 102 { 0 } else { 255 }));
        // Green: four equal levels go to 0, 85, 170, 255; blue is flat and kept.
        let greens: Vec<u8> = (0..4).map(|x| out.get_pixel(x, 0)[1]).collect();
        assert_eq!(greens, [0, 85, 170, 255]);
        assert!(out.pixels().all(|p| p[2] == 7));
    }

    #[test]
    fn zero_amount_is_identity() {
        let img = RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 3, y as u8, 50]));
        assert_eq!(Equalize { amount: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
    }
}
