//! Sharpening: the over-eager edge enhancement of phone and webcam pipelines (halos, amplified grain).

use image::RgbImage;

use super::filters::{round_u8, Border};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "sharpen",
    factor: RiskFactor::ImageQuality,
    summary: "3x3 sharpening kernel blended with the identity by `alpha` (albumentations' Sharpen, lightness 1)",
    params: &[ParamInfo {
        name: "alpha",
        unit: "blend of the sharpening kernel (0 = unchanged, 1 = full Laplacian boost)",
        min: 0.0,
        max: 1.0,
        default: 0.35,
        integer: false,
    }],
    // Severity 3 is the middle of albumentations' Sharpen default alpha range (0.2-0.5).
    severities: [&[0.1], &[0.2], &[0.35], &[0.55], &[0.8]],
    make: |p| Box::new(Sharpen { alpha: p.get("alpha") as f32 }),
};

pub struct Sharpen {
    pub alpha: f32,
}

impl Perturbation for Sharpen {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut out = image.clone();
        if w == 0 || h == 0 || self.alpha == 0.0 {
            return out;
        }
        // Kernel (1 - a) * identity + a * [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]] sums to 1:
        // out = (1 + 9a) * centre - a * (sum of the 3x3 box). The box sum is separable and
        // exact in integers (at most 9 * 255).
        // Rows of sums and floats: compiled for the widest vectors the CPU has.
        super::simd::vectorised(
            #[inline(always)]
            || {
                let (centre, box_w) = (1.0 + 9.0 * self.alpha, self.alpha);
                let src = image.as_raw();
                let stride = w * 3;
                // OpenCV's filter2D border (reflect, edge pixel not repeated).
                let (left, right) = (Border::Reflect101.index(-1, w), Border::Reflect101.index(w as isize, w));
                let mut rows = vec![0u16; h * stride];
                for (row, sums) in src.chunks_exact(stride).zip(rows.chunks_exact_mut(stride)) {
                    // Inside the row, three shifted runs added value by value (vectorised); the two
                    // end pixels take their mirrored neighbours.
                    if w >= 3 {
                        for (i, sum) in sums[3..stride - 3].iter_mut().enumerate() {
                            *sum = row[i] as u16 + row[i + 3] as u16 + row[i + 6] as u16;
                        }
                    }
                    for x in [0, w - 1] {
                        let (l, r) = (if x == 0 { left } else { x - 1 }, if x + 1 == w { right } else { x + 1 });
                        for c in 0..3 {
                            sums[x * 3 + c] = row[l * 3 + c] as u16 + row[x * 3 + c] as u16 + row[r * 3 + c] as u16;
                        }
                    }
                }
                for (y, out_row) in out.chunks_exact_mut(stride).enumerate() {
                    let up = Border::Reflect101.index(y as isize - 1, h);
                    let down = Border::Reflect101.index(y as isize + 1, h);
                    let (a, b, c) = (
                        &rows[up * stride..][..stride],
                        &rows[y * stride..][..stride],
                        &rows[down * stride..][..stride],
                    );
                    let centre_row = &src[y * stride..][..stride];
                    for i in 0..stride {
                        let sum = (a[i] + b[i] + c[i]) as f32;
                        out_row[i] = round_u8((centre * centre_row[i] as f32 - box_w * sum).max(0.0));
                    }
                }
                out
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn flat_images_and_zero_alpha_are_unchanged() {
        let flat = RgbImage::from_pixel(7, 5, image::Rgb([10, 128, 250]));
        assert_eq!(Sharpen { alpha: 0.8 }.apply(&flat, &mut case_rng(0, "", 0)), flat);
        let img = RgbImage::from_fn(6, 6, |x, y| image::Rgb([(x * 40) as u8, (y * 40) as u8, 3]));
        assert_eq!(Sharpen { alpha: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
        let one = RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]));
        assert_eq!(Sharpen { alpha: 1.0 }.apply(&one, &mut case_rng(0, "", 0)), one);
    }

    #[test]
    fn a_bright_dot_gets_brighter_and_a_dark_ring() {
        let mut img = RgbImage::from_pixel(5, 5, image::Rgb([100, 100, 100]));
        img.put_pixel(2, 2, image::Rgb([110, 100, 100]));
        let out = Sharpen { alpha: 0.5 }.apply(&img, &mut case_rng(0, "", 0));
        // Centre: 5.5 * 110 - 0.5 * (8 * 100 + 110) = 150; neighbours: 100 - 0.5 * 10 = 95.
        assert_eq!(out.get_pixel(2, 2).0, [150, 100, 100]);
        assert_eq!(out.get_pixel(1, 1).0, [95, 100, 100]);
        assert_eq!(out.get_pixel(0, 0).0, [100, 100, 100]);
    }
}
