//! Oil spots: greasy smudges on the lens that bend, blur and brighten the light through them.

use std::f32::consts::TAU;

use image::RgbImage;
use rand::Rng;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "oil_spots",
    factor: RiskFactor::Occlusion,
    summary: "oil on the lens: translucent smudges that magnify, blur and haze what is behind them",
    params: &[
        ParamInfo {
            name: "spots",
            unit: "number of smudges (rounded)",
            min: 0.0,
            max: 100.0,
            default: 3.0,
            integer: true,
        },
        ParamInfo {
            name: "radius",
            unit: "smudge radius as a fraction of the image's shorter side",
            min: 0.0,
            max: 1.0,
            default: 0.1,
            integer: false,
        },
        ParamInfo {
            name: "strength",
            unit: "0-1: how strongly a smudge bends, blurs and hazes the light",
            min: 0.0,
            max: 1.0,
            default: 0.7,
            integer: false,
        },
    ],
    severities: [&[1.0, 0.08, 0.5], &[2.0, 0.09, 0.6], &[3.0, 0.1, 0.7], &[4.0, 0.12, 0.8], &[5.0, 0.14, 0.9]],
    make: |p| {
        Box::new(OilSpots {
            spots: p.get("spots").round() as usize,
            radius: p.get("radius") as f32,
            strength: p.get("strength") as f32,
        })
    },
};

pub struct OilSpots {
    pub spots: usize,
    pub radius: f32,
    pub strength: f32,
}

/// At full strength: how much a smudge magnifies at its centre, how far (in its radii) it
/// smears light, and how much of the way to white its haze lifts each channel.
const MAGNIFY: f32 = 0.25;
const SMEAR: f32 = 0.06;
const HAZE: f32 = 0.35;
/// Thin-film colour at the rim (full strength), in 0-255 levels per channel.
const IRIDESCENCE: f32 = 14.0;

impl Perturbation for OilSpots {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 || self.spots == 0 || self.radius <= 0.0 {
            return image.clone();
        }
        let r = (self.radius * w.min(h) as f32).max(1.5);
        let mut out = image.clone();
        for _ in 0..self.spots {
            let smudge = Smudge {
                cx: rng.random::<f32>() * w as f32,
                cy: rng.random::<f32>() * h as f32,
                r: r * rng.random_range(0.7..1.0),
                aspect: rng.random_range(0.6..1.0),
                tilt: rng.random::<f32>() * TAU,
                // Wobbles of the outline: an oval with two- and three-fold bulges.
                wobble: [rng.random_range(0.0..0.15), rng.random_range(0.0..0.1)],
                phase: [rng.random::<f32>() * TAU, rng.random::<f32>() * TAU],
                strength: self.strength * rng.random_range(0.8..1.0),
            };
            // Each smudge sees the image as the smudges before it left it.
            smudge.apply(&mut out);
        }
        out
    }
}

struct Smudge {
    cx: f32,
    cy: f32,
    r: f32,
    aspect: f32,
    tilt: f32,
    wobble: [f32; 2],
    phase: [f32; 2],
    strength: f32,
}

impl Smudge {
    fn apply(&self, img: &mut RgbImage) {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let reach = self.r * (1.0 + self.wobble[0] + self.wobble[1]);
        let (x0, x1) = ((self.cx - reach).floor().max(0.0) as usize, ((self.cx + reach).ceil() as usize).min(w));
        let (y0, y1) = ((self.cy - reach).floor().max(0.0) as usize, ((self.cy + reach).ceil() as usize).min(h));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        // Read from a copy of the smudge's box (plus the smear's reach), as light through the
        // film comes from the unchanged scene around it.
        let smear = SMEAR * self.r;
        let pad = (smear.ceil() as usize) + 1;
        let (bx0, by0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
        let (bx1, by1) = ((x1 + pad).min(w), (y1 + pad).min(h));
        let (bw, bh) = (bx1 - bx0, by1 - by0);
        let src: Vec<f32> = (by0..by1)
            .flat_map(|y| img.as_raw()[(y * w + bx0) * 3..(y * w + bx1) * 3].iter().map(|&v| v as f32))
            .collect();
        let sample = |x: f32, y: f32, c: usize| -> f32 {
            let (x, y) = (
                (x - bx0 as f32 - 0.5).clamp(0.0, (bw - 1) as f32),
                (y - by0 as f32 - 0.5).clamp(0.0, (bh - 1) as f32),
            );
            let (ix, iy) = ((x as usize).min(bw.saturating_sub(2)), (y as usize).min(bh.saturating_sub(2)));
            let (jx, jy) = ((ix + 1).min(bw - 1), (iy + 1).min(bh - 1));
            let (tx, ty) = (x - ix as f32, y - iy as f32);
            let at = |xx: usize, yy: usize| src[(yy * bw + xx) * 3 + c];
            let top = at(ix, iy) + tx * (at(jx, iy) - at(ix, iy));
            let bottom = at(ix, jy) + tx * (at(jx, jy) - at(ix, jy));
            top + ty * (bottom - top)
        };
        let (sin, cos) = self.tilt.sin_cos();
        let raw: &mut [u8] = img.as_mut();
        for y in y0..y1 {
            let dy = y as f32 + 0.5 - self.cy;
            for x in x0..x1 {
                let dx = x as f32 + 0.5 - self.cx;
                let (u, v) = (dx * cos + dy * sin, (dy * cos - dx * sin) / self.aspect);
                let angle = v.atan2(u);
                let bulge = 1.0
                    + self.wobble[0] * (2.0 * angle + self.phase[0]).sin()
                    + self.wobble[1] * (3.0 * angle + self.phase[1]).sin();
                let d = (u * u + v * v).sqrt() / (self.r * bulge);
                if d >= 1.0 {
                    continue;
                }
                // Film thickness: full inside, thinning over the outer quarter.
                let t = ((d - 0.75) / 0.25).clamp(0.0, 1.0);
                let film = self.strength * (1.0 - t * t * (3.0 - 2.0 * t));
                // A thick drop is a weak convex lens: it reads from nearer its centre.
                let pull = 1.0 - MAGNIFY * film * (1.0 - d * d);
                let (sx, sy) = (self.cx + dx * pull, self.cy + dy * pull);
                // Smear: the mean of four samples around the refracted point.
                let s = smear * film;
                // Thin-film interference: a faint rainbow in the rim where the film thins.
                let rim = IRIDESCENCE * film * (4.0 * d * (1.0 - d)).powi(2) * (d > 0.5) as u8 as f32;
                let i = (y * w + x) * 3;
                for c in 0..3 {
                    let blurred = 0.25
                        * (sample(sx - s, sy - s, c)
                            + sample(sx + s, sy - s, c)
                            + sample(sx - s, sy + s, c)
                            + sample(sx + s, sy + s, c));
                    let hazed = blurred + HAZE * film * (255.0 - blurred);
                    let hue = (6.0 * d + c as f32 / 3.0) * TAU;
                    raw[i + c] = round_u8(hazed + rim * hue.sin());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn smudges_brighten_a_flat_image_unlike_dirt() {
        let img = RgbImage::from_pixel(100, 80, image::Rgb([100, 100, 100]));
        let out = OilSpots { spots: 3, radius: 0.15, strength: 0.8 }.apply(&img, &mut case_rng(0, "", 0));
        let changed: Vec<u8> = out.pixels().filter(|p| p.0 != [100; 3]).map(|p| p[1]).collect();
        assert!(changed.len() > 300, "{}", changed.len());
        let mean = changed.iter().map(|&v| v as f32).sum::<f32>() / changed.len() as f32;
        assert!(mean > 115.0, "{mean}");
        // Translucent: the haze lifts towards white but never hides the scene.
        assert!(out.pixels().all(|p| p[1] >= 95 && p[1] < 200));
    }

    #[test]
    fn smudges_magnify_and_blur_detail() {
        // Fine vertical stripes: inside a smudge they come out softer (blurred).
        let img = RgbImage::from_fn(80, 80, |x, _| image::Rgb([if x % 4 < 2 { 40 } else { 200 }; 3]));
        let one = OilSpots { spots: 1, radius: 0.3, strength: 1.0 };
        let out = one.apply(&img, &mut case_rng(2, "", 0));
        let contrast = |im: &RgbImage| -> f32 {
            im.enumerate_pixels()
                .filter(|(x, _, _)| *x > 0)
                .map(|(x, y, p)| p[0].abs_diff(im.get_pixel(x - 1, y)[0]) as f32)
                .sum()
        };
        assert!(contrast(&out) < 0.97 * contrast(&img), "{} vs {}", contrast(&out), contrast(&img));
    }

    #[test]
    fn zero_strength_leaves_the_image_alone() {
        let img = RgbImage::from_fn(30, 20, |x, y| image::Rgb([(x * 8) as u8, (y * 12) as u8, 77]));
        let out = OilSpots { spots: 4, radius: 0.3, strength: 0.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(out, img);
    }
}
