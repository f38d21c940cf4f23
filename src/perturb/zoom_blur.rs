//! Zoom blur: the camera zooms (or moves towards the scene) during the exposure.

use image::RgbImage;

use super::filters::{add_clipped_zoom, from_f32, to_f32, ZoomAxis};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "zoom_blur",
    factor: RiskFactor::Blur,
    summary: "zoom during exposure: the mean of centre zooms from 1 up to max_zoom",
    params: &[
        ParamInfo {
            name: "max_zoom",
            unit: "ratio (largest zoom factor)",
            min: 1.0,
            max: 2.0,
            default: 1.2,
            integer: false,
        },
        ParamInfo {
            name: "step",
            unit: "ratio (between successive zoom factors)",
            min: 0.005,
            max: 1.0,
            default: 0.02,
            integer: false,
        },
    ],
    // imagecorruptions' zoom_blur severities: np.arange(1, stop, step) ends at 1.11, 1.15, 1.20,
    // 1.24 and 1.30 (float rounding keeps 1.11 in the first).
    severities: [&[1.11, 0.01], &[1.15, 0.01], &[1.20, 0.02], &[1.24, 0.02], &[1.30, 0.03]],
    make: |p| Box::new(ZoomBlur { max_zoom: p.get("max_zoom"), step: p.get("step") }),
};

pub struct ZoomBlur {
    pub max_zoom: f64,
    pub step: f64,
}

impl ZoomBlur {
    /// 1, 1 + step, ... up to max_zoom (allowing float slack), as numpy's `arange` computes
    /// them: `1 + i * delta` with `delta = (1 + step) - 1`, not `step` itself. The two differ in
    /// the last bits (0.03 becomes 0.030000000000000027), and that decides scipy's rounded
    /// zoom length: 185 rows times 1.3 is 240.5 with `step` (rounds to 240) but just above it
    /// with `delta` (241), which shifts a 240-row image's severity-5 zoom.
    pub(super) fn factors(&self) -> impl Iterator<Item = f64> + '_ {
        let count = ((self.max_zoom - 1.0) / self.step + 1e-6).floor().max(0.0) as usize + 1;
        let delta = (1.0 + self.step) - 1.0;
        (0..count).map(move |i| 1.0 + i as f64 * delta)
    }
}

impl Perturbation for ZoomBlur {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // Float rows throughout: compiled for the widest vectors the CPU has.
        super::simd::vectorised(
            #[inline(always)]
            || {
                let src = to_f32(image);
                // The original image counts once more than the zooms (imagecorruptions adds the x1 zoom to it).
                let mut acc = src.clone();
                let mut n = 1;
                for factor in self.factors() {
                    add_clipped_zoom(&src, w, 3, &ZoomAxis::new(w, factor), &ZoomAxis::new(h, factor), &mut acc);
                    n += 1;
                }
                let scale = 1.0 / n as f32;
                acc.iter_mut().for_each(|v| *v *= scale);
                from_f32(w as u32, h as u32, &acc)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn factor_counts_match_imagecorruptions() {
        let counts: Vec<usize> =
            INFO.severities.iter().map(|v| ZoomBlur { max_zoom: v[0], step: v[1] }.factors().count()).collect();
        assert_eq!(counts, [12, 16, 11, 13, 11]);
    }

    #[test]
    fn centre_stays_and_edges_smear() {
        // A ramp: zooms about the centre read values from further in, more so near the edges.
        let img = RgbImage::from_fn(41, 41, |x, _| image::Rgb([(x * 6) as u8; 3]));
        let out = ZoomBlur { max_zoom: 1.3, step: 0.03 }.apply(&img, &mut case_rng(0, "", 0));
        let diff = |x: u32| out.get_pixel(x, 20)[0] as i32 - img.get_pixel(x, 20)[0] as i32;
        assert!(diff(20).abs() <= 4, "{}", diff(20));
        assert!(diff(0) >= 8 && diff(40) <= -8, "{} {}", diff(0), diff(40));
    }
}
