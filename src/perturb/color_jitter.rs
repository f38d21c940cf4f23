//! Colour jitter: brightness, contrast, saturation and hue each off by a random factor, in random order.

use image::RgbImage;
use rand::seq::SliceRandom;
use rand::Rng;

use super::filters::round_u8;
use super::grayscale::luma;
use super::hue_saturation_value::shift_hsv;
use super::simd::{map_bytes, map_pixels, PixelKernel};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "color_jitter",
    factor: RiskFactor::Color,
    summary: "torchvision/albumentations ColorJitter: random brightness, contrast, saturation and hue",
    params: &[
        ParamInfo {
            name: "brightness",
            unit: "largest change of the brightness factor (drawn in 1 +- limit)",
            min: 0.0,
            max: 1.0,
            default: 0.2,
            integer: false,
        },
        ParamInfo {
            name: "contrast",
            unit: "largest change of the contrast factor (drawn in 1 +- limit)",
            min: 0.0,
            max: 1.0,
            default: 0.2,
            integer: false,
        },
        ParamInfo {
            name: "saturation",
            unit: "largest change of the saturation factor (drawn in 1 +- limit)",
            min: 0.0,
            max: 1.0,
            default: 0.2,
            integer: false,
        },
        ParamInfo {
            name: "hue",
            unit: "fraction of a full hue turn (shift drawn within +-limit)",
            min: 0.0,
            max: 0.5,
            default: 0.1,
            integer: false,
        },
    ],
    // Severity 3 has albumentations' defaults for brightness, contrast and saturation (0.8-1.2).
    // Its default hue range (+-0.5, any hue at all) recolours rather than jitters, so hue grows
    // from 0.02 to 0.2 of a turn instead.
    severities: [
        &[0.1, 0.1, 0.1, 0.02],
        &[0.15, 0.15, 0.15, 0.05],
        &[0.2, 0.2, 0.2, 0.1],
        &[0.3, 0.3, 0.3, 0.15],
        &[0.4, 0.4, 0.4, 0.2],
    ],
    make: |p| {
        Box::new(ColorJitter {
            brightness: p.get("brightness") as f32,
            contrast: p.get("contrast") as f32,
            saturation: p.get("saturation") as f32,
            hue: p.get("hue") as f32,
        })
    },
};

pub struct ColorJitter {
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub hue: f32,
}

#[derive(Clone, Copy)]
enum Step {
    Brightness(f32),
    Contrast(f32),
    Saturation(f32),
    Hue(f32),
}

impl Perturbation for ColorJitter {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let mut factor = |limit: f32| rng.random_range((1.0 - limit).max(0.0)..=1.0 + limit);
        let (b, c, s) = (factor(self.brightness), factor(self.contrast), factor(self.saturation));
        let h = rng.random_range(-self.hue..=self.hue);
        let mut steps = [Step::Brightness(b), Step::Contrast(c), Step::Saturation(s), Step::Hue(h)];
        // As torchvision and albumentations: the four adjustments in a random order, each
        // rounded to bytes before the next.
        steps.shuffle(rng);
        let mut out = image.clone();
        for step in steps {
            out = match step {
                Step::Brightness(f) => map_values(&out, |v| v * f),
                Step::Contrast(f) => {
                    let n = (out.width() as f64 * out.height() as f64).max(1.0);
                    let sum: u64 = out.chunks_exact(3).map(|p| luma(p[0], p[1], p[2]) as u64).sum();
                    let mean = (sum as f64 / n) as f32;
                    map_values(&out, |v| mean + (v - mean) * f)
                }
                Step::Saturation(f) => map_pixels(&out, &TowardLuma(f)),
                Step::Hue(turns) if turns != 0.0 => shift_hsv(&out, turns * 6.0, 0.0, 0.0),
                Step::Hue(_) => continue,
            };
        }
        out
    }
}

/// Every value through `f` (rounded, floored at 0), by a 256-entry table.
fn map_values(image: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    let lut: [u8; 256] = std::array::from_fn(|v| round_u8(f(v as f32).max(0.0)));
    map_bytes(image, &lut)
}

/// Saturation by a factor: every channel's distance from the pixel's luma scaled by it.
struct TowardLuma(f32);

impl PixelKernel for TowardLuma {
    #[inline(always)]
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3] {
        let y = luma(rgb[0], rgb[1], rgb[2]) as f32;
        rgb.map(|v| round_u8(y + (v as f32 - y) * self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn texture() -> RgbImage {
        RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 16) as u8, (y * 16) as u8, (x * y) as u8]))
    }

    #[test]
    fn zero_limits_are_identity() {
        let op = ColorJitter { brightness: 0.0, contrast: 0.0, saturation: 0.0, hue: 0.0 };
        let img = texture();
        assert_eq!(op.apply(&img, &mut case_rng(0, "t", 0)), img);
    }

    #[test]
    fn brightness_alone_scales_values() {
        // With only brightness allowed, every value is the same factor of its original.
        let op = ColorJitter { brightness: 0.3, contrast: 0.0, saturation: 0.0, hue: 0.0 };
        let img = RgbImage::from_pixel(2, 2, image::Rgb([100, 200, 50]));
        let out = op.apply(&img, &mut case_rng(0, "t", 1));
        let f = out.get_pixel(0, 0)[0] as f32 / 100.0;
        assert!((0.7..=1.3).contains(&f) && f != 1.0, "{f}");
        assert!((out.get_pixel(1, 1)[2] as f32 - (50.0 * f)).abs() <= 1.0);
    }

    #[test]
    fn grey_stays_grey_without_contrast_or_brightness() {
        // Saturation blends toward luma and hue has nothing to rotate on a grey pixel.
        let op = ColorJitter { brightness: 0.0, contrast: 0.0, saturation: 0.5, hue: 0.3 };
        let img = RgbImage::from_pixel(3, 3, image::Rgb([90, 90, 90]));
        assert_eq!(op.apply(&img, &mut case_rng(0, "t", 2)), img);
    }
}
