//! Packet loss: 16x16 macroblocks missing from a lossy video stream, concealed as a decoder would.

use image::RgbImage;
use rand::Rng;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "packet_loss",
    factor: RiskFactor::ImageQuality,
    summary: "lost video packets: runs of 16x16 blocks left grey or black, or filled from the rows above",
    params: &[ParamInfo {
        name: "loss",
        unit: "fraction of the 16x16 blocks lost (0-1)",
        min: 0.0,
        max: 1.0,
        default: 0.1,
        integer: false,
    }],
    severities: [&[0.02], &[0.05], &[0.1], &[0.2], &[0.35]],
    make: |p| Box::new(PacketLoss { loss: p.get("loss") as f32 }),
};

pub struct PacketLoss {
    pub loss: f32,
}

/// Macroblock side, as in H.264 / MPEG.
const BLOCK: usize = 16;

/// How a decoder fills a block it never received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conceal {
    /// Left at mid-grey (a fresh frame buffer).
    Grey,
    /// Left black.
    Black,
    /// Copied from the block above (the nearest block row received), so content repeats.
    CopyAbove,
    /// The last received pixel row smeared down through the block: vertical streaks.
    Smear,
}

const MODES: [Conceal; 4] = [Conceal::Grey, Conceal::Black, Conceal::CopyAbove, Conceal::Smear];

impl Perturbation for PacketLoss {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut out = image.clone();
        if w == 0 || h == 0 || self.loss <= 0.0 {
            return out;
        }
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let n = bw * bh;
        // The expected number of lost blocks, rounded up or down at random so that small images
        // lose blocks as often as the fraction says.
        let expected = self.loss.min(1.0) as f64 * n as f64;
        let target = (expected.floor() as usize + (rng.random::<f64>() < expected.fract()) as usize).min(n);
        let mut lost: Vec<Option<Conceal>> = vec![None; n];
        let mut count = 0;
        while count < target {
            // One packet carries a run of consecutive blocks in raster order (a slice): a loss
            // takes out up to a block row's worth, concealed the same way throughout.
            let mut i = rng.random_range(0..n);
            let run = rng.random_range(1..=bw);
            let mode = MODES[rng.random_range(0..MODES.len())];
            // Start at the next block still there (wrapping), so every run loses something.
            while lost[i].is_some() {
                i = (i + 1) % n;
            }
            for slot in lost[i..].iter_mut().take(run) {
                if count == target {
                    break;
                }
                if slot.is_none() {
                    *slot = Some(mode);
                    count += 1;
                }
            }
        }
        // Top to bottom, so that a block copied from above copies what the viewer saw there.
        let stride = w * 3;
        let raw: &mut [u8] = out.as_mut();
        for (b, mode) in lost.iter().enumerate() {
            let Some(mode) = *mode else { continue };
            let (x0, y0) = ((b % bw) * BLOCK, (b / bw) * BLOCK);
            let (xs, rows) = (x0 * 3..((x0 + BLOCK).min(w)) * 3, y0..(y0 + BLOCK).min(h));
            match mode {
                Conceal::Grey | Conceal::Black => {
                    let level = if mode == Conceal::Grey { 128 } else { 0 };
                    for y in rows {
                        raw[y * stride..][xs.clone()].fill(level);
                    }
                }
                // The first block row has nothing above it: a decoder shows grey there.
                _ if y0 == 0 => {
                    for y in rows {
                        raw[y * stride..][xs.clone()].fill(128);
                    }
                }
                Conceal::CopyAbove => {
                    for y in rows {
                        raw.copy_within(
                            (y - BLOCK) * stride + xs.start..(y - BLOCK) * stride + xs.end,
                            y * stride + xs.start,
                        );
                    }
                }
                Conceal::Smear => {
                    let last = (y0 - 1) * stride;
                    for y in rows {
                        raw.copy_within(last + xs.start..last + xs.end, y * stride + xs.start);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    /// Red encodes the row (130-249, period 120), so no pixel equals one up to 16 rows above or
    /// below it, nor grey or black; green and blue vary along the row.
    fn busy(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(130 + y % 120) as u8, (x * 37 % 256) as u8, (x * y % 251) as u8]))
    }

    #[test]
    fn exactly_the_lost_fraction_of_blocks_changes_and_only_whole_blocks() {
        let img = busy(160, 160);
        for seed in 0..10 {
            let out = PacketLoss { loss: 0.25 }.apply(&img, &mut case_rng(seed, "", 0));
            let mut changed = 0;
            for by in 0..10 {
                for bx in 0..10 {
                    let same = |x: u32, y: u32| {
                        out.get_pixel(bx * 16 + x, by * 16 + y) == img.get_pixel(bx * 16 + x, by * 16 + y)
                    };
                    let untouched = (0..16).all(|y| (0..16).all(|x| same(x, y)));
                    let replaced = (0..16).all(|y| (0..16).all(|x| !same(x, y)));
                    assert!(untouched || replaced, "seed {seed}: block {bx},{by} partly changed");
                    changed += replaced as usize;
                }
            }
            assert_eq!(changed, 25, "seed {seed}");
        }
    }

    #[test]
    fn lost_blocks_are_grey_black_or_repeat_the_rows_above() {
        let img = busy(64, 64);
        let out = PacketLoss { loss: 0.6 }.apply(&img, &mut case_rng(4, "", 0));
        let mut seen = [false; 4];
        for by in 0..4u32 {
            for bx in 0..4u32 {
                let px = |x: u32, y: u32| out.get_pixel(bx * 16 + x, by * 16 + y).0;
                if (0..16).all(|y| (0..16).all(|x| px(x, y) == img.get_pixel(bx * 16 + x, by * 16 + y).0)) {
                    continue;
                }
                let all = |f: &dyn Fn(u32, u32) -> bool| (0..16).all(|y| (0..16).all(|x| f(x, y)));
                let grey = all(&|x, y| px(x, y) == [128; 3]);
                let black = all(&|x, y| px(x, y) == [0; 3]);
                let above = by > 0 && all(&|x, y| px(x, y) == out.get_pixel(bx * 16 + x, by * 16 + y - 16).0);
                let smear = by > 0 && all(&|x, y| px(x, y) == out.get_pixel(bx * 16 + x, by * 16 - 1).0);
                assert!(grey || black || above || smear, "block {bx},{by}");
                for (s, hit) in seen.iter_mut().zip([grey, black, above, smear]) {
                    *s |= hit;
                }
            }
        }
        assert!(seen.iter().filter(|&&s| s).count() >= 3, "{seen:?}");
    }

    #[test]
    fn no_loss_no_change_and_edge_blocks_are_clipped() {
        let img = busy(37, 21);
        assert_eq!(PacketLoss { loss: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
        // 3 x 2 blocks, the right and bottom ones partial: all lost, nothing of the original left.
        let out = PacketLoss { loss: 1.0 }.apply(&img, &mut case_rng(0, "", 0));
        let kept = out.pixels().zip(img.pixels()).filter(|(a, b)| a == b).count();
        assert_eq!(kept, 0);
    }
}
