//! Saturation change: colours washed out or oversaturated (white balance, processing, cheap optics).

use image::RgbImage;

use super::filters::round_u8;
use super::simd::{map_pixels, PixelKernel};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "saturate",
    factor: RiskFactor::Color,
    summary: "HSV saturation scaled by `factor` plus `offset`, hue and value kept",
    params: &[
        ParamInfo {
            name: "factor",
            unit: "ratio applied to HSV saturation (1 = unchanged)",
            min: 0.0,
            max: 50.0,
            default: 2.0,
            integer: false,
        },
        ParamInfo {
            name: "offset",
            unit: "added to HSV saturation (0-1 scale)",
            min: -1.0,
            max: 1.0,
            default: 0.0,
            integer: false,
        },
    ],
    // imagecorruptions' saturate severities: 1-2 wash colours out, 3-5 oversaturate.
    severities: [&[0.3, 0.0], &[0.1, 0.0], &[2.0, 0.0], &[5.0, 0.1], &[20.0, 0.2]],
    make: |p| Box::new(Saturate { factor: p.get("factor") as f32, offset: p.get("offset") as f32 }),
};

pub struct Saturate {
    pub factor: f32,
    pub offset: f32,
}

impl Perturbation for Saturate {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        map_pixels(image, self)
    }
}

impl PixelKernel for Saturate {
    #[inline(always)]
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3] {
        let [r, g, b] = rgb.map(f32::from);
        let v = r.max(g).max(b);
        let delta = v - r.min(g).min(b);
        // With hue and value fixed, every channel keeps its place between min and max: its
        // distance below the max scales with saturation (= delta / v).
        let s = (delta / v * self.factor + self.offset).clamp(0.0, 1.0);
        let k = s * v / delta;
        let out = [r, g, b].map(|c| round_u8(v - (v - c) * k));
        // Grey has hue 0 (red) in scikit-image's rgb2hsv, so a positive offset tints it red.
        // Both results are computed and one picked, so that the loop vectorises (the grey
        // pixel's NaNs from 0 / 0 are never picked).
        let tint = round_u8(v * (1.0 - self.offset.clamp(0.0, 1.0)));
        if delta == 0.0 {
            [round_u8(v), tint, tint]
        } else {
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn one(rgb: [u8; 3], factor: f32, offset: f32) -> [u8; 3] {
        let img = RgbImage::from_pixel(1, 1, image::Rgb(rgb));
        Saturate { factor, offset }.apply(&img, &mut case_rng(0, "", 0)).get_pixel(0, 0).0
    }

    #[test]
    fn scales_saturation_keeping_hue_and_value() {
        // HSV (h, 0.5, 200/255): halving saturation lifts the min from 100 to 150 and the middle alike.
        assert_eq!(one([200, 150, 100], 0.5, 0.0), [200, 175, 150]);
        assert_eq!(one([200, 150, 100], 0.0, 0.0), [200, 200, 200]);
        assert_eq!(one([200, 150, 100], 10.0, 0.0), [200, 100, 0]);
    }

    #[test]
    fn every_pixel_follows_the_hsv_formula() {
        use rand::Rng;
        let mut rng = case_rng(3, "saturate", 0);
        let mut img = RgbImage::from_fn(71, 9, |_, _| image::Rgb(rng.random()));
        img.put_pixel(3, 3, image::Rgb([0, 0, 0]));
        img.put_pixel(4, 3, image::Rgb([90, 90, 90]));
        for (factor, offset) in [(0.3, 0.0), (2.0, 0.1), (1.0, -0.2)] {
            let out = Saturate { factor, offset }.apply(&img, &mut case_rng(0, "", 0));
            for (p, q) in img.pixels().zip(out.pixels()) {
                let [r, g, b] = p.0.map(f32::from);
                let v = r.max(g).max(b);
                let delta = v - r.min(g).min(b);
                let want = if delta == 0.0 {
                    let s = offset.clamp(0.0, 1.0);
                    [round_u8(v), round_u8(v * (1.0 - s)), round_u8(v * (1.0 - s))]
                } else {
                    let k = (delta / v * factor + offset).clamp(0.0, 1.0) * v / delta;
                    [r, g, b].map(|c| round_u8(v - (v - c) * k))
                };
                assert_eq!(q.0, want, "{:?} at factor {factor}, offset {offset}", p.0);
            }
        }
    }

    #[test]
    fn grey_is_tinted_red_by_an_offset() {
        assert_eq!(one([100, 100, 100], 5.0, 0.0), [100, 100, 100]);
        assert_eq!(one([100, 100, 100], 5.0, 0.2), [100, 80, 80]);
    }
}
