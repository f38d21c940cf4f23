//! Dead pixels: whole sensor or screen pixels stuck black (dead), white (hot) or at one primary colour.

use image::RgbImage;
use rand::Rng;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "dead_pixels",
    factor: RiskFactor::Sensor,
    summary: "a random fraction of pixels stuck: a third black, a third white, a third pure red, green or blue",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction of pixels stuck",
        min: 0.0,
        max: 1.0,
        default: 0.01,
        integer: false,
    }],
    // From a worn sensor (0.1 %) to a badly damaged one (4 %); albumentations has no equivalent.
    severities: [&[0.001], &[0.003], &[0.01], &[0.02], &[0.04]],
    make: |p| Box::new(DeadPixels { amount: p.get("amount") as f32 }),
};

/// Dead, hot, and the three single-colour stuck states; a draw of 0-8 picks one in that order,
/// black and white taking three values each.
const STUCK: [[u8; 3]; 5] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]];

pub struct DeadPixels {
    pub amount: f32,
}

impl Perturbation for DeadPixels {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let mut out = image.clone();
        let p = self.amount.clamp(0.0, 1.0);
        if p == 0.0 {
            return out;
        }
        // Each pixel independently with probability p: the gaps between stuck pixels are
        // geometric, so the generator is drawn per stuck pixel, not per pixel.
        let log_q = (-p).ln_1p();
        let gap = |rng: &mut CaseRng| {
            if p >= 1.0 {
                return 0;
            }
            // Saturating: a tiny amount can put the next stuck pixel past any image.
            ((1.0 - rng.random::<f32>()).ln() / log_q) as usize
        };
        let data: &mut [u8] = &mut out;
        let pixels = data.len() / 3;
        let mut i = gap(rng);
        while i < pixels {
            let state = match rng.random_range(0..9u8) {
                0..=2 => 0,
                3..=5 => 1,
                k => k as usize - 4,
            };
            data[i * 3..i * 3 + 3].copy_from_slice(&STUCK[state]);
            i = i.saturating_add(gap(rng).saturating_add(1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn sticks_about_the_requested_fraction_to_the_stuck_colours() {
        let img = RgbImage::from_pixel(200, 100, image::Rgb([100, 120, 140]));
        let mut changed = Vec::new();
        for id in 0..10 {
            let out = DeadPixels { amount: 0.05 }.apply(&img, &mut case_rng(0, "t", id));
            changed.extend(out.pixels().map(|p| p.0).filter(|&p| p != [100, 120, 140]));
        }
        assert!(changed.iter().all(|p| STUCK.contains(p)));
        let frac = changed.len() as f64 / 200_000.0;
        assert!((frac - 0.05).abs() < 0.002, "{frac}");
        let share = |c: [u8; 3]| changed.iter().filter(|&&p| p == c).count() as f64 / changed.len() as f64;
        let (black, red) = (share([0, 0, 0]), share([255, 0, 0]));
        assert!((black - 1.0 / 3.0).abs() < 0.02 && (red - 1.0 / 9.0).abs() < 0.02, "{black} {red}");
    }

    #[test]
    fn zero_amount_is_identity_and_full_amount_sticks_everything() {
        let img = RgbImage::from_pixel(7, 5, image::Rgb([1, 2, 3]));
        assert_eq!(DeadPixels { amount: 0.0 }.apply(&img, &mut case_rng(0, "t", 1)), img);
        let all = DeadPixels { amount: 1.0 }.apply(&img, &mut case_rng(0, "t", 1));
        assert!(all.pixels().all(|p| STUCK.contains(&p.0)));
    }
}
