//! Shot noise: photon-counting (Poisson) noise of a sensor in low light, as imagecorruptions does.

use image::RgbImage;
use rand::RngCore;

use super::{to_u8, ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "shot_noise",
    factor: RiskFactor::Noise,
    summary: "Poisson photon noise, as a sensor in low light (fewer photons: noisier)",
    params: &[ParamInfo {
        name: "photons",
        unit: "expected photon count of a full-scale channel",
        min: 1.0,
        max: 1000.0,
        default: 12.0,
        integer: false,
    }],
    // imagecorruptions' shot_noise severities.
    severities: [&[60.0], &[25.0], &[12.0], &[5.0], &[3.0]],
    make: |p| Box::new(ShotNoise { photons: p.get("photons") }),
};

pub struct ShotNoise {
    pub photons: f64,
}

impl Perturbation for ShotNoise {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let photons = self.photons.max(f64::MIN_POSITIVE);
        // A channel value v catches Poisson(v / 255 * photons) photons and reads back as
        // 255 * count / photons, clipped at full scale. Counts from `top` on all saturate, so a
        // cumulative table over counts 0..top per input value turns one uniform draw into an
        // exact sample. Tables are built on first use: only the values present cost anything.
        // The table holds the CDF in units of 2^-32, to compare with a 32-bit draw.
        let top = photons.ceil() as usize;
        let levels: Vec<u8> = (0..=top).map(|k| to_u8((k as f64 / photons).min(1.0) as f32 * 255.0)).collect();
        let mut cdfs = vec![0u64; 256 * top];
        let mut built = [false; 256];
        let mut cdf = vec![0f64; top];
        let mut out = image.clone();
        for v in out.iter_mut() {
            let table = &mut cdfs[*v as usize * top..(*v as usize + 1) * top];
            if !built[*v as usize] {
                fill_cdf(*v as f64 / 255.0 * photons, &mut cdf);
                table.iter_mut().zip(&cdf).for_each(|(t, p)| *t = (p * 4_294_967_296.0).round() as u64);
                built[*v as usize] = true;
            }
            let u = rng.next_u32() as u64;
            *v = levels[table.partition_point(|&p| p <= u)];
        }
        out
    }
}

/// `cdf[k]` = P(Poisson(lambda) <= k); terms come from logs so a large lambda cannot underflow.
fn fill_cdf(lambda: f64, cdf: &mut [f64]) {
    if lambda <= 0.0 {
        cdf.fill(1.0);
        return;
    }
    let ln_lambda = lambda.ln();
    let (mut ln_p, mut sum) = (-lambda, 0.0);
    for (k, c) in cdf.iter_mut().enumerate() {
        if k > 0 {
            ln_p += ln_lambda - (k as f64).ln();
        }
        sum += ln_p.exp();
        *c = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn cdf_is_poisson() {
        let mut cdf = [0.0; 4];
        fill_cdf(2.0, &mut cdf);
        let e = (-2.0f64).exp();
        let expected = [e, 3.0 * e, 5.0 * e, 19.0 / 3.0 * e];
        assert!(cdf.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{cdf:?}");
    }

    #[test]
    fn mean_is_kept_and_spread_follows_photon_count() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([64, 64, 64]));
        let out = ShotNoise { photons: 100.0 }.apply(&img, &mut case_rng(0, "t", 0));
        let n = out.len() as f64;
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        // lambda = 64 / 255 * 100 = 25.1 photons: sd = sqrt(25.1) / 100 * 255 = 12.8 levels.
        assert!((mean - 64.0).abs() < 0.5, "{mean}");
        assert!((sd - 12.8).abs() < 0.4, "{sd}");
    }

    #[test]
    fn black_stays_black_and_white_saturates_often() {
        let mut img = RgbImage::new(50, 50);
        img.pixels_mut().take(1250).for_each(|p| *p = image::Rgb([255, 255, 255]));
        let out = ShotNoise { photons: 5.0 }.apply(&img, &mut case_rng(0, "t", 0));
        assert!(out.pixels().skip(1250).all(|p| p.0 == [0, 0, 0]));
        // P(Poisson(5) >= 5) = 0.56.
        let white = out.iter().take(3750).filter(|&&v| v == 255).count() as f64 / 3750.0;
        assert!((white - 0.56).abs() < 0.03, "{white}");
    }
}
