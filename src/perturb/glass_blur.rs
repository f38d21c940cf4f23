//! Glass blur: viewing through frosted or textured glass, which blurs and locally scrambles pixels.

use image::RgbImage;
use rand::Rng;

use super::filters::{gaussian, separable_image, Border};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "glass_blur",
    factor: RiskFactor::Blur,
    summary: "frosted glass: Gaussian blur, random local pixel swaps, blur again",
    params: &[
        ParamInfo {
            name: "sigma",
            unit: "pixels (Gaussian blur before and after)",
            min: 0.0,
            max: 10.0,
            default: 1.0,
            integer: false,
        },
        ParamInfo {
            name: "max_delta",
            unit: "pixels (largest swap distance, rounded)",
            min: 0.0,
            max: 20.0,
            default: 2.0,
            integer: true,
        },
        ParamInfo {
            name: "iterations",
            unit: "passes of swaps (rounded)",
            min: 0.0,
            max: 10.0,
            default: 3.0,
            integer: true,
        },
    ],
    // imagecorruptions' glass_blur severities.
    severities: [&[0.7, 1.0, 2.0], &[0.9, 2.0, 1.0], &[1.0, 2.0, 3.0], &[1.1, 3.0, 2.0], &[1.5, 4.0, 2.0]],
    make: |p| {
        Box::new(GlassBlur {
            sigma: p.get("sigma") as f32,
            max_delta: p.get("max_delta").round() as usize,
            iterations: p.get("iterations").round() as usize,
        })
    },
};

pub struct GlassBlur {
    pub sigma: f32,
    pub max_delta: usize,
    pub iterations: usize,
}

impl Perturbation for GlassBlur {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // imagecorruptions truncates the first blur to bytes (np.uint8); a hair of tolerance keeps
        // float error in flat areas from dropping a whole level.
        let mut px: Vec<u8> = gaussian(image.as_raw(), w, h, 3, self.sigma).iter().map(|&v| (v + 1e-3) as u8).collect();
        let d = self.max_delta as isize;
        if d > 0 {
            for _ in 0..self.iterations {
                // Same walk as the original: bottom-right to top-left over the interior, each pixel
                // taking the value of one up to d away (offsets in [-d, d), as numpy's randint).
                // The original means to swap, but its tuple assignment of numpy views copies.
                for y in (d + 1..=h as isize - d).rev() {
                    for x in (d + 1..=w as isize - d).rev() {
                        let dx = rng.random_range(-(d as i32)..d as i32) as isize;
                        let dy = rng.random_range(-(d as i32)..d as i32) as isize;
                        let a = (y as usize * w + x as usize) * 3;
                        let b = ((y + dy) as usize * w + (x + dx) as usize) * 3;
                        px.copy_within(b..b + 3, a);
                    }
                }
            }
        }
        let k = if self.sigma > 0.0 { super::gaussian_blur::kernel(self.sigma) } else { vec![1.0] };
        separable_image(&px, w, h, &k, &k, Border::Nearest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn pixels_take_colours_from_their_neighbourhood() {
        let img = RgbImage::from_fn(20, 20, |x, y| image::Rgb([(x * 12) as u8, (y * 12) as u8, 7]));
        let out = GlassBlur { sigma: 0.0, max_delta: 2, iterations: 1 }.apply(&img, &mut case_rng(0, "", 0));
        assert_ne!(out, img);
        // Without blur, colours only move; mostly by up to 2 pixels (copies of copies go further).
        let near = out
            .enumerate_pixels()
            .filter(|(x, y, p)| {
                assert_eq!(p[2], 7);
                (p[0] as i32 / 12 - *x as i32).abs() <= 2 && (p[1] as i32 / 12 - *y as i32).abs() <= 2
            })
            .count();
        assert!(near > 350, "{near}");
    }
}
