//! Fog: a fractal haze (diamond-square plasma) added over the image, which loses contrast.

use image::RgbImage;
use rand::RngCore;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "fog",
    factor: RiskFactor::Weather,
    summary: "fog: a plasma-fractal haze added, then the image rescaled to its old peak",
    params: &[
        ParamInfo {
            name: "thickness",
            unit: "fraction of full scale added where the fog is densest",
            min: 0.0,
            max: 10.0,
            default: 2.5,
            integer: false,
        },
        ParamInfo {
            name: "decay",
            unit: "roughness decay per octave (higher: smoother fog)",
            min: 1.0,
            max: 10.0,
            default: 1.7,
            integer: false,
        },
    ],
    // imagecorruptions' fog severities.
    severities: [&[1.5, 2.0], &[2.0, 2.0], &[2.5, 1.7], &[2.5, 1.5], &[3.0, 1.4]],
    make: |p| Box::new(Fog { thickness: p.get("thickness") as f32, decay: p.get("decay") as f32 }),
};

pub struct Fog {
    pub thickness: f32,
    pub decay: f32,
}

impl Perturbation for Fog {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // imagecorruptions sizes the map by the largest of height, width and channel count.
        let size = w.max(h).max(3).next_power_of_two();
        let map = plasma_fractal(size, self.decay, rng);
        let peak = image.as_raw().iter().copied().max().unwrap_or(0) as f32 / 255.0;
        // x + thickness * fog, scaled so that the old peak plus the densest fog maps to the old peak.
        let gain = if peak > 0.0 { peak / (peak + self.thickness) } else { 0.0 };
        let scaled: [f32; 256] = std::array::from_fn(|v| v as f32 * gain);
        let fog_scale = self.thickness * gain * 255.0;
        let mut out = image.clone();
        for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
            for (px, &f) in row.chunks_exact_mut(3).zip(&map[y * size..]) {
                let fog = fog_scale * f;
                for v in px {
                    *v = round_u8(scaled[*v as usize] + fog);
                }
            }
        }
        out
    }
}

/// imagecorruptions' `plasma_fractal`: a `size` x `size` (a power of two) tiling heightmap by the
/// diamond-square algorithm, scaled to 0..1. Each new point is the mean of its four neighbours
/// plus `wibble * U(-wibble, wibble)`, `wibble` starting at 100 and divided by `decay` per octave.
pub(crate) fn plasma_fractal(size: usize, decay: f32, rng: &mut CaseRng) -> Vec<f32> {
    let n = size;
    let wrap = n - 1; // n is a power of two: `& wrap` is `% n`
    let mut map = vec![0f32; n * n];
    // U(-amp, amp) from 16 random bits, four to a draw: the map needs one per cell, and 16 bits
    // already resolve each octave's noise far below what an 8-bit image shows.
    let (mut bits, mut left) = (0u64, 0);
    let mut uniform = |amp: f32| {
        if left == 0 {
            (bits, left) = (rng.next_u64(), 4);
        }
        let u = (bits & 0xffff) as f32;
        (bits, left) = (bits >> 16, left - 1);
        ((u + 0.5) * (2.0 / 65536.0) - 1.0) * amp
    };
    let (mut step, mut wibble) = (n, 100f32);
    while step >= 2 {
        let half = step / 2;
        let amp = wibble * wibble;
        // Squares: the centre of each square of corners `step` apart.
        for y in (0..n).step_by(step) {
            let y1 = (y + step) & wrap;
            for x in (0..n).step_by(step) {
                let x1 = (x + step) & wrap;
                let sum = map[y * n + x] + map[y1 * n + x] + map[y * n + x1] + map[y1 * n + x1];
                map[(y + half) * n + x + half] = sum / 4.0 + uniform(amp);
            }
        }
        // Diamonds: the edge midpoints, from the two corners and the two centres beside them
        // (the map wraps around).
        for y in (0..n).step_by(step) {
            let (up, down) = ((y + n - half) & wrap, (y + step) & wrap);
            for x in (0..n).step_by(step) {
                let (left, right) = ((x + n - half) & wrap, (x + step) & wrap);
                let corner = map[y * n + x];
                let centre = map[(y + half) * n + x + half];
                let top = centre + map[up * n + x + half] + corner + map[y * n + right];
                map[y * n + x + half] = top / 4.0 + uniform(amp);
                let side = centre + map[(y + half) * n + left] + corner + map[down * n + x];
                map[(y + half) * n + x] = side / 4.0 + uniform(amp);
            }
        }
        step = half;
        wibble /= decay;
    }
    let (min, max) = map.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if max > min { 1.0 / (max - min) } else { 0.0 };
    map.iter_mut().for_each(|v| *v = (*v - min) * scale);
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn plasma_spans_zero_to_one_and_is_smooth() {
        let map = plasma_fractal(64, 2.0, &mut case_rng(0, "", 0));
        let (min, max) = map.iter().fold((1f32, 0f32), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!(min, 0.0);
        assert!((max - 1.0).abs() < 1e-6, "{max}");
        // Neighbours differ far less than the full range.
        let step: f32 = map.windows(2).map(|w| (w[0] - w[1]).abs()).sum::<f32>() / map.len() as f32;
        assert!(step < 0.05, "{step}");
    }

    #[test]
    fn fog_lifts_dark_and_keeps_the_peak() {
        let img = RgbImage::from_fn(32, 32, |x, _| image::Rgb([if x < 16 { 0 } else { 255 }; 3]));
        let out = Fog { thickness: 1.5, decay: 2.0 }.apply(&img, &mut case_rng(0, "", 0));
        let dark: f64 = (0..32).map(|y| out.get_pixel(3, y)[0] as f64).sum::<f64>() / 32.0;
        assert!(dark > 20.0, "{dark}");
    }
}
