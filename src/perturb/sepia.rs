//! Sepia: the warm brown cast of an old print or a "vintage" camera filter, blended in by `amount`.

use image::RgbImage;

use super::filters::round_u8;
use super::simd::{map_pixels, PixelKernel};
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
        // Float products: vectorised, two multiplies a cycle where 32-bit integer ones take two
        // cycles each; the sums round once, to the nearest level.
        map_pixels(image, &ColourMatrix(m))
    }
}

/// Output channel c = row c of the matrix times the input pixel, rounded.
struct ColourMatrix([[f32; 3]; 3]);

impl PixelKernel for ColourMatrix {
    #[inline(always)]
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3] {
        let [r, g, b] = rgb.map(f32::from);
        self.0.map(|row| round_u8(row[0] * r + row[1] * g + row[2] * b))
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
    fn every_pixel_is_the_matrix_product() {
        use rand::Rng;
        let mut rng = case_rng(2, "sepia", 0);
        let img = RgbImage::from_fn(67, 5, |_, _| image::Rgb(rng.random()));
        let out = Sepia { amount: 0.6 }.apply(&img, &mut case_rng(0, "", 0));
        for (p, q) in img.pixels().zip(out.pixels()) {
            let x = p.0.map(f32::from);
            for (c, row) in SEPIA.iter().enumerate() {
                // 0.6 of the sepia product plus 0.4 of the channel itself, within rounding.
                let want = (0.6 * (row[0] * x[0] + row[1] * x[1] + row[2] * x[2]) + 0.4 * x[c]).min(255.0);
                assert!((want - f32::from(q[c])).abs() <= 0.51, "{:?} -> {:?}, channel {c}: {want}", p.0, q.0);
            }
        }
    }

    #[test]
    fn zero_amount_is_identity() {
        for rgb in [[0, 0, 0], [255, 255, 255], [12, 200, 99]] {
            assert_eq!(one(rgb, 0.0), rgb);
        }
    }
}
