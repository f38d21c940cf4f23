//! Sepia: the warm brown cast of an old print or a "vintage" camera filter, blended in by `amount`.

use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "sepia",
    factor: RiskFactor::Color,
    summary: "blend toward the sepia-toned image (the usual sepia matrix, as albumentations' ToSepia)",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction blended toward sepia",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
    }],
    // albumentations' ToSepia is all or nothing (severity 5); milder severities tint part way.
    severities: [&[0.2], &[0.4], &[0.6], &[0.8], &[1.0]],
    make: |p| Box::new(Sepia { amount: p.get("amount") as f32 }),
};

/// Rows give output R, G, B from input R, G, B.
const SEPIA: [[f32; 3]; 3] = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]];

/// Non-negative `v` rounded to the nearest integer (`as` truncates; no libm `round` call).
fn round_u32(v: f32) -> u32 {
    (v + 0.5) as u32
}

pub struct Sepia {
    pub amount: f32,
}

impl Perturbation for Sepia {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        // Blending the outputs is blending the matrices: one 3x3 product a pixel.
        let a = self.amount.clamp(0.0, 1.0);
        let mut m = SEPIA.map(|row| row.map(|v| v * a));
        for (i, row) in m.iter_mut().enumerate() {
            row[i] += 1.0 - a;
        }
        // Integer weights out of 2^16 (error below 0.01 of a level over three channels): integer
        // products are cheaper than float ones plus a float-to-byte conversion per value.
        let m = m.map(|row| row.map(|v| round_u32(v * 65536.0)));
        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            let px: &mut [u8; 3] = px.try_into().expect("chunks of 3");
            let [r, g, b] = px.map(u32::from);
            // Weights are non-negative, so only the top needs clamping.
            *px = m.map(|row| ((row[0] * r + row[1] * g + row[2] * b + (1 << 15)) >> 16).min(255) as u8);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn one(rgb: [u8; 3], amount: f32) -> [u8; 3] {
        let img = RgbImage::from_pixel(1, 1, image::Rgb(rgb));
        Sepia { amount }.apply(&img, &mut case_rng(0, "", 0)).get_pixel(0, 0).0
    }

    #[test]
    fn full_amount_applies_the_sepia_matrix() {
        // Grey 100: 1.351 * 100, 1.203 * 100, 0.937 * 100.
        assert_eq!(one([100, 100, 100], 1.0), [135, 120, 94]);
        // White saturates red and green; blue 0.937 * 255 = 238.9.
        assert_eq!(one([255, 255, 255], 1.0), [255, 255, 239]);
    }

    #[test]
    fn zero_amount_is_identity() {
        for rgb in [[0, 0, 0], [255, 255, 255], [12, 200, 99]] {
            assert_eq!(one(rgb, 0.0), rgb);
        }
    }
}
