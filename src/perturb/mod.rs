//! The perturbation catalog: one file per perturbation, registered in `CATALOG`.
//!
//! A perturbation maps a clean image to a perturbed one, drawing any randomness from the
//! `CaseRng` it is handed (seeded per suite, case and image), so results never depend on
//! scheduling. Parameters are plain numbers with documented units and ranges; `severity` 1-5
//! picks the standard values (those of `imagecorruptions` where it has the corruption).

mod brightness;
mod channel_shuffle;
mod chromatic_aberration;
mod color_jitter;
mod contrast;
mod cutout;
mod dark_spots;
mod dead_pixels;
mod defocus_blur;
mod downscale;
mod elastic_transform;
mod equalize;
mod filters;
mod fog;
mod frost;
mod gamma;
mod gaussian_blur;
mod gaussian_noise;
mod glare;
mod glass_blur;
mod grayscale;
mod horizontal_flip;
mod hue_saturation_value;
mod impulse_noise;
mod iso_noise;
mod jpeg_compression;
mod median_blur;
mod motion_blur;
mod oil_spots;
mod packet_loss;
#[cfg(test)]
mod parity;
mod perspective;
mod pixelate;
mod posterize;
mod random_crop;
mod rgb_bgr_swap;
mod rgb_shift;
mod rotation;
mod saturate;
mod scale;
mod seed;
mod sepia;
mod sharpen;
mod shot_noise;
mod simd;
mod snow;
mod spatter;
mod speckle_noise;
mod translation;
mod vertical_flip;
mod vignetting;
mod warp;
mod zoom_blur;

use image::RgbImage;

pub use crate::vocab::RiskFactor;
pub use seed::{case_rng, CaseRng};
pub use warp::{Homography, MIN_VISIBLE};

/// Every perturbation shakedown knows. Adding one: a file in this folder and a line here.
pub const CATALOG: &[PerturbationInfo] = &[
    gaussian_blur::INFO,
    defocus_blur::INFO,
    motion_blur::INFO,
    zoom_blur::INFO,
    glass_blur::INFO,
    gaussian_noise::INFO,
    shot_noise::INFO,
    impulse_noise::INFO,
    speckle_noise::INFO,
    jpeg_compression::INFO,
    pixelate::INFO,
    brightness::INFO,
    contrast::INFO,
    saturate::INFO,
    fog::INFO,
    snow::INFO,
    spatter::INFO,
    channel_shuffle::INFO,
    color_jitter::INFO,
    hue_saturation_value::INFO,
    rgb_shift::INFO,
    sepia::INFO,
    grayscale::INFO,
    rgb_bgr_swap::INFO,
    gamma::INFO,
    equalize::INFO,
    glare::INFO,
    vignetting::INFO,
    iso_noise::INFO,
    dead_pixels::INFO,
    chromatic_aberration::INFO,
    posterize::INFO,
    downscale::INFO,
    sharpen::INFO,
    median_blur::INFO,
    frost::INFO,
    elastic_transform::INFO,
    cutout::INFO,
    dark_spots::INFO,
    oil_spots::INFO,
    packet_loss::INFO,
    horizontal_flip::INFO,
    vertical_flip::INFO,
    rotation::INFO,
    perspective::INFO,
    random_crop::INFO,
    translation::INFO,
    scale::INFO,
];

/// One numeric parameter of a perturbation.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    pub name: &'static str,
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    /// Takes whole numbers only (a JPEG quality, a kernel size): searches stay on them.
    pub integer: bool,
}

/// Catalog entry: what a perturbation is called, what it takes and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct PerturbationInfo {
    pub name: &'static str,
    pub factor: RiskFactor,
    pub summary: &'static str,
    pub params: &'static [ParamInfo],
    /// Parameter values (in `params` order) of severities 1 to 5.
    pub severities: [&'static [f64]; 5],
    /// Build from parameter values, already range-checked, read by name.
    pub make: fn(Params) -> Box<dyn Perturbation>,
}

/// One setting's parameter values, read by name: `p.get("sigma")`.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    info: &'static [ParamInfo],
    values: &'a [f64],
}

impl Params<'_> {
    /// The value of parameter `name`. A name the catalog entry does not declare is a bug in
    /// that entry, caught by the catalog tests that build every perturbation.
    pub fn get(&self, name: &str) -> f64 {
        match self.info.iter().position(|p| p.name == name) {
            Some(i) => self.values[i],
            None => panic!("the perturbation reads `{name}`, which its `params` do not declare"),
        }
    }
}

impl PerturbationInfo {
    /// The perturbation at `values`, one per parameter in `params` order.
    pub fn build(&self, values: &[f64]) -> Box<dyn Perturbation> {
        assert_eq!(values.len(), self.params.len(), "{}: one value per parameter", self.name);
        (self.make)(Params { info: self.params, values })
    }

    pub fn param(&self, name: &str) -> Option<(usize, &ParamInfo)> {
        self.params.iter().enumerate().find(|(_, p)| p.name == name)
    }
}

/// An image change. Must be deterministic given the generator's state.
pub trait Perturbation: Send + Sync {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage;

    /// The perturbed image and, for perturbations that move content (geometry), where it went,
    /// so that labels and clean predictions can follow. Draws exactly what `apply` draws.
    fn apply_moving(&self, image: &RgbImage, rng: &mut CaseRng) -> Moved {
        Moved { image: self.apply(image, rng), motion: None }
    }
}

/// A perturbed image and the motion of its content, if any.
pub struct Moved {
    pub image: RgbImage,
    /// Maps points of the input image to the output; `None` when nothing moved.
    pub motion: Option<Homography>,
}

/// Catalog entry by name.
pub fn lookup(name: &str) -> Option<&'static PerturbationInfo> {
    CATALOG.iter().find(|p| p.name == name)
}

/// The catalog name closest to a misspelt one, if any is reasonably close.
pub fn closest(name: &str) -> Option<&'static str> {
    crate::vocab::closest(name, names())
}

/// Every perturbation's name, in catalog order.
pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    CATALOG.iter().map(|p| p.name)
}

/// Clamp a float channel value into a byte, rounding to nearest.
#[inline]
pub(crate) fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn test_image(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x * y) % 256) as u8]))
    }

    #[test]
    fn names_are_unique_and_severities_fit_params() {
        for (i, p) in CATALOG.iter().enumerate() {
            assert!(CATALOG[..i].iter().all(|q| q.name != p.name), "{} twice", p.name);
            for (s, values) in p.severities.iter().enumerate() {
                assert_eq!(values.len(), p.params.len(), "{} severity {}", p.name, s + 1);
                for (v, info) in values.iter().zip(p.params) {
                    assert!((info.min..=info.max).contains(v), "{} severity {}", p.name, s + 1);
                }
            }
        }
    }

    #[test]
    fn every_perturbation_is_deterministic_and_keeps_the_size() {
        for p in CATALOG {
            for values in p.severities {
                let op = p.build(values);
                for (w, h) in [(1, 1), (2, 7), (33, 17)] {
                    let img = test_image(w, h);
                    let a = op.apply(&img, &mut case_rng(1, p.name, 3));
                    let b = op.apply(&img, &mut case_rng(1, p.name, 3));
                    assert_eq!(a.dimensions(), (w, h), "{}", p.name);
                    assert_eq!(a, b, "{} is not deterministic", p.name);
                }
            }
        }
    }

    #[test]
    fn stronger_severity_changes_the_image_more() {
        // Muted colours with texture, as in photos: on a fully saturated pattern, oversaturating
        // (saturate 5) changes less than washing out (saturate 1).
        let img = RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(60 + 2 * x) as u8, (70 + 2 * y) as u8, (90 + (x * y) % 64) as u8])
        });
        // Perturbations without parameters (a flip, a channel swap) have one strength only.
        for p in CATALOG.iter().filter(|p| !p.params.is_empty()) {
            // Summed over a few draws: one fog or spatter draw can change less than a milder one.
            let change = |values: &[f64]| {
                let op = p.build(values);
                (0..8)
                    .map(|image_id| {
                        let out = op.apply(&img, &mut case_rng(7, p.name, image_id));
                        out.as_raw().iter().zip(img.as_raw()).map(|(a, b)| a.abs_diff(*b) as u64).sum::<u64>()
                    })
                    .sum::<u64>()
            };
            assert!(change(p.severities[4]) > change(p.severities[0]), "{}", p.name);
        }
    }

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(closest("gaussian_blr"), Some("gaussian_blur"));
        assert_eq!(closest("jpeg"), Some("jpeg_compression"));
        assert_eq!(closest("zzzzzz"), None);
    }
}
