//! ISO noise: the colour speckle and brightness grain of a sensor at high gain (low light), as
//! albumentations' ISONoise.

use image::RgbImage;
use rand::RngCore;
use rand_distr::{Distribution, Normal};

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "iso_noise",
    factor: RiskFactor::Sensor,
    summary: "HLS hue jitter (Gaussian) and luminance grain (Poisson, scaled by the image's contrast)",
    params: &[
        ParamInfo {
            name: "color_shift",
            unit: "hue noise, in turns per unit of intensity (std = color_shift * 360 * intensity degrees)",
            min: 0.0,
            max: 1.0,
            default: 0.03,
            integer: false,
        },
        ParamInfo {
            name: "intensity",
            unit: "noise strength (Poisson mean = intensity * std of HLS lightness * 255)",
            min: 0.0,
            max: 1.0,
            default: 0.3,
            integer: false,
        },
    ],
    // Severity 1 is the low end of albumentations' ISONoise default ranges (0.01-0.05, 0.1-0.5),
    // severity 3 their middle and severity 4 their top.
    severities: [&[0.01, 0.1], &[0.02, 0.2], &[0.03, 0.3], &[0.05, 0.5], &[0.08, 0.8]],
    make: |p| Box::new(IsoNoise { color_shift: p.get("color_shift") as f32, intensity: p.get("intensity") as f32 }),
};

pub struct IsoNoise {
    pub color_shift: f32,
    pub intensity: f32,
}

/// HLS as OpenCV's float conversion: hue in degrees [0, 360), lightness and saturation 0-1.
#[inline]
fn rgb_to_hls(r: f32, g: f32, b: f32) -> [f32; 3] {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let l = (max + min) * 0.5;
    let diff = max - min;
    if diff <= f32::EPSILON {
        return [0.0, l, 0.0];
    }
    let s = if l < 0.5 { diff / (max + min) } else { diff / (2.0 - max - min) };
    let k = 60.0 / diff;
    let h = if max == r {
        (g - b) * k
    } else if max == g {
        120.0 + (b - r) * k
    } else {
        240.0 + (r - g) * k
    };
    [if h < 0.0 { h + 360.0 } else { h }, l, s]
}

/// RGB (0-1) of hue in degrees [0, 360), lightness and saturation 0-1.
#[inline]
fn hls_to_rgb(h: f32, l: f32, s: f32) -> [f32; 3] {
    if s == 0.0 {
        return [l; 3];
    }
    let q = if l <= 0.5 { l * (1.0 + s) } else { l + s - l * s };
    let p = 2.0 * l - q;
    let h6 = h / 60.0;
    // Truncation is floor for h >= 0, without a libm call.
    let sector = h6 as u32;
    let f = h6 - sector as f32;
    let (rise, fall) = (p + (q - p) * f, p + (q - p) * (1.0 - f));
    match sector {
        0 => [q, rise, p],
        1 => [fall, q, p],
        2 => [p, q, rise],
        3 => [p, fall, q],
        4 => [rise, p, q],
        _ => [q, p, fall],
    }
}

/// Poisson sampling by table inversion with a guide table: one 32-bit draw and a short search
/// a sample, where a general sampler costs logarithms; the mean is fixed for a whole image.
struct PoissonTable {
    /// `thresholds[k]` = P(X <= k) scaled to 2^32; the last entry is 2^32 (always stops).
    thresholds: Vec<u64>,
    /// For each top byte of the draw, the first k whose threshold can exceed it.
    guide: [u16; 256],
}

impl PoissonTable {
    fn new(mean: f64) -> Self {
        // Up to 12 standard deviations past the mean: beyond it lies under 2^-32 of the mass.
        let last = (mean + 12.0 * mean.sqrt() + 12.0).ceil() as usize;
        let mut thresholds = Vec::with_capacity(last + 1);
        let (mut p, mut cdf) = ((-mean).exp(), 0.0);
        for k in 0..last {
            cdf += p;
            thresholds.push(((cdf * 4294967296.0) as u64).min(1 << 32));
            p *= mean / (k + 1) as f64;
        }
        thresholds.push(1 << 32);
        let mut guide = [0u16; 256];
        let mut k = 0;
        for (j, g) in guide.iter_mut().enumerate() {
            while thresholds[k] <= (j as u64) << 24 {
                k += 1;
            }
            *g = k as u16;
        }
        PoissonTable { thresholds, guide }
    }

    #[inline]
    fn sample(&self, rng: &mut CaseRng) -> u32 {
        let u = rng.next_u32();
        let mut k = self.guide[(u >> 24) as usize] as usize;
        while self.thresholds[k] <= u as u64 {
            k += 1;
        }
        k as u32
    }
}

impl Perturbation for IsoNoise {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let to_unit = |v: u8| v as f32 * (1.0 / 255.0);
        let lightness = |p: &[u8]| (to_unit(p[0].max(p[1]).max(p[2])) + to_unit(p[0].min(p[1]).min(p[2]))) * 0.5;
        // The grain scales with the spread of lightness across the image, as albumentations'.
        let n = (image.width() as f64 * image.height() as f64).max(1.0);
        let (mut sum, mut sum2) = (0f64, 0f64);
        for p in image.chunks_exact(3) {
            let l = lightness(p) as f64;
            sum += l;
            sum2 += l * l;
        }
        let mean = sum / n;
        let std = (sum2 / n - mean * mean).max(0.0).sqrt();
        let intensity = self.intensity.max(0.0);
        let grain = PoissonTable::new(std * intensity as f64 * 255.0);
        let hue_std = self.color_shift.max(0.0) * 360.0 * intensity;
        let hue_noise = Normal::new(0.0f32, hue_std).ok().filter(|_| hue_std > 0.0);

        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            let [h, l, s] = rgb_to_hls(to_unit(px[0]), to_unit(px[1]), to_unit(px[2]));
            let mut h = h + hue_noise.map_or(0.0, |d| d.sample(rng));
            // A few standard deviations at most, so a loop wraps it, without a float modulo.
            while h >= 360.0 {
                h -= 360.0;
            }
            while h < 0.0 {
                h += 360.0;
            }
            // Poisson grain only brightens, in proportion to the headroom left (as there).
            let l = l + grain.sample(rng) as f32 * (1.0 / 255.0) * (1.0 - l);
            let rgb = hls_to_rgb(h, l, s);
            for (o, c) in px.iter_mut().zip(rgb) {
                *o = round_u8(c.max(0.0) * 255.0);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn texture() -> RgbImage {
        RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x * 13 + y * 7) % 256) as u8]))
    }

    #[test]
    fn zero_intensity_is_identity() {
        let img = texture();
        let op = IsoNoise { color_shift: 0.05, intensity: 0.0 };
        assert_eq!(op.apply(&img, &mut case_rng(0, "t", 0)), img);
    }

    #[test]
    fn poisson_table_has_the_right_mean_and_variance() {
        let mut rng = case_rng(0, "t", 0);
        for mean in [0.0, 0.7, 15.0, 120.0] {
            let table = PoissonTable::new(mean);
            let draws: Vec<f64> = (0..50_000).map(|_| table.sample(&mut rng) as f64).collect();
            let m = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / draws.len() as f64;
            let tol = 0.05 * mean.max(1.0);
            assert!((m - mean).abs() < tol && (var - mean).abs() < 2.0 * tol, "{mean}: {m} {var}");
        }
    }

    #[test]
    fn grain_brightens_and_hue_noise_keeps_grey_grey() {
        let img = texture();
        let out = IsoNoise { color_shift: 0.0, intensity: 0.5 }.apply(&img, &mut case_rng(0, "t", 1));
        let sum = |i: &RgbImage| i.iter().map(|&v| v as u64).sum::<u64>();
        assert!(sum(&out) > sum(&img));
        // Grey pixels have no hue to jitter and get only grain: they stay grey.
        let grey = RgbImage::from_fn(8, 8, |x, _| image::Rgb([x as u8 * 30; 3]));
        let out = IsoNoise { color_shift: 0.5, intensity: 1.0 }.apply(&grey, &mut case_rng(0, "t", 2));
        assert!(out.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
        assert_ne!(out, grey);
    }
}
