//! Dark spots: out-of-focus dirt on the lens, seen as soft dark blobs over the scene.

use std::f32::consts::TAU;

use image::RgbImage;
use rand::Rng;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "dark_spots",
    factor: RiskFactor::Occlusion,
    summary: "dirt on the lens: soft-edged, irregular dark blobs",
    params: &[
        ParamInfo {
            name: "spots",
            unit: "number of blobs (rounded)",
            min: 0.0,
            max: 100.0,
            default: 3.0,
            integer: true,
        },
        ParamInfo {
            name: "radius",
            unit: "blob radius as a fraction of the image's shorter side",
            min: 0.0,
            max: 1.0,
            default: 0.08,
            integer: false,
        },
        ParamInfo {
            name: "opacity",
            unit: "fraction of the light blocked at a blob's core (1 = opaque)",
            min: 0.0,
            max: 1.0,
            default: 0.8,
            integer: false,
        },
    ],
    severities: [&[1.0, 0.06, 0.6], &[2.0, 0.07, 0.7], &[3.0, 0.08, 0.8], &[4.0, 0.1, 0.85], &[6.0, 0.12, 0.9]],
    make: |p| {
        Box::new(DarkSpots {
            spots: p.get("spots").round() as usize,
            radius: p.get("radius") as f32,
            opacity: p.get("opacity") as f32,
        })
    },
};

pub struct DarkSpots {
    pub spots: usize,
    pub radius: f32,
    pub opacity: f32,
}

/// Colour of the dirt where it is opaque: a dark grey-brown rather than pure black, as grime
/// scatters a little light.
const DIRT: [f32; 3] = [34.0, 30.0, 26.0];

impl Perturbation for DarkSpots {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 || self.spots == 0 || self.radius <= 0.0 {
            return image.clone();
        }
        // Fraction of light let through, per pixel: blobs multiply, as stacked layers of dirt.
        let mut pass = vec![1f32; w * h];
        // A spot on a tiny image still covers a pixel or two.
        let r = (self.radius * w.min(h) as f32).max(1.5);
        for _ in 0..self.spots {
            let (cx, cy) = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
            // Dirt is lumpy: a few overlapping soft ellipses around the spot's centre.
            let lumps = rng.random_range(3..=5);
            for _ in 0..lumps {
                let (angle, dist) = (rng.random::<f32>() * TAU, rng.random::<f32>() * 0.45 * r);
                let blob = Ellipse {
                    cx: cx + angle.cos() * dist,
                    cy: cy + angle.sin() * dist,
                    major: r * rng.random_range(0.4..0.7),
                    aspect: rng.random_range(0.55..1.0),
                    tilt: rng.random::<f32>() * TAU,
                };
                let opacity = self.opacity * rng.random_range(0.75..1.0);
                blob.cover(&mut pass, w, h, opacity);
            }
        }
        let mut out = image.clone();
        for (px, &t) in out.pixels_mut().zip(&pass) {
            if t < 1.0 {
                for (v, dirt) in px.0.iter_mut().zip(DIRT) {
                    *v = round_u8(*v as f32 * t + dirt * (1.0 - t));
                }
            }
        }
        out
    }
}

/// A soft ellipse: opaque in its inner third, fading smoothly to nothing at its rim.
struct Ellipse {
    cx: f32,
    cy: f32,
    major: f32,
    aspect: f32,
    tilt: f32,
}

impl Ellipse {
    /// Multiply `pass` by what the ellipse lets through, over its bounding box only.
    fn cover(&self, pass: &mut [f32], w: usize, h: usize, opacity: f32) {
        let (sin, cos) = self.tilt.sin_cos();
        let minor = self.major * self.aspect;
        let (x0, x1) =
            (((self.cx - self.major).floor().max(0.0)) as usize, ((self.cx + self.major).ceil() as usize).min(w));
        let (y0, y1) =
            (((self.cy - self.major).floor().max(0.0)) as usize, ((self.cy + self.major).ceil() as usize).min(h));
        for y in y0..y1 {
            let dy = y as f32 + 0.5 - self.cy;
            for x in x0..x1 {
                let dx = x as f32 + 0.5 - self.cx;
                // Squared distance in units of the ellipse's own axes: 1 on the rim.
                let (u, v) = ((dx * cos + dy * sin) / self.major, (dy * cos - dx * sin) / minor);
                let d = (u * u + v * v).sqrt();
                if d < 1.0 {
                    let t = ((d - 0.35) / 0.65).clamp(0.0, 1.0);
                    let core = 1.0 - t * t * (3.0 - 2.0 * t);
                    pass[y * w + x] *= 1.0 - opacity * core;
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
    fn spots_only_darken_and_have_soft_edges() {
        let img = RgbImage::from_pixel(120, 90, image::Rgb([200, 180, 160]));
        let out = DarkSpots { spots: 2, radius: 0.15, opacity: 0.9 }.apply(&img, &mut case_rng(0, "", 0));
        assert!(out.pixels().all(|p| p[0] <= 200 && p[1] <= 180 && p[2] <= 160));
        let darkest = out.pixels().map(|p| p[0]).min().unwrap();
        assert!(darkest < 80, "{darkest}");
        // Soft: many pixels are partly darkened, not just untouched or at the darkest level.
        let partial = out.pixels().filter(|p| p[0] < 195 && p[0] > darkest + 20).count();
        assert!(partial > 100, "{partial}");
    }

    #[test]
    fn coverage_grows_with_spots_and_zero_opacity_is_invisible() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([220, 220, 220]));
        let dark = |spots, opacity| {
            let out = DarkSpots { spots, radius: 0.08, opacity }.apply(&img, &mut case_rng(1, "", 0));
            out.pixels().filter(|p| p[0] < 200).count()
        };
        assert_eq!(dark(5, 0.0), 0);
        assert!(dark(1, 0.8) > 0);
        assert!(dark(10, 0.8) > 3 * dark(1, 0.8));
    }
}
