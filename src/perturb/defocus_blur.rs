//! Defocus blur: a disk (the out-of-focus aperture) with slightly soft edges, as imagecorruptions does.

use image::RgbImage;

use super::filters::{from_f32, separable, separable_image, Border};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "defocus_blur",
    factor: RiskFactor::Blur,
    summary: "out-of-focus lens: convolution with a disk of the given radius",
    params: &[
        ParamInfo {
            name: "radius",
            unit: "pixels (disk radius, rounded)",
            min: 0.0,
            max: 100.0,
            default: 6.0,
            integer: true,
        },
        ParamInfo {
            name: "alias_blur",
            unit: "pixels (Gaussian sigma softening the disk edge)",
            min: 0.0,
            max: 2.0,
            default: 0.5,
            integer: false,
        },
    ],
    // imagecorruptions' defocus_blur severities.
    severities: [&[3.0, 0.1], &[4.0, 0.5], &[6.0, 0.5], &[8.0, 0.5], &[10.0, 0.5]],
    make: |p| Box::new(DefocusBlur { radius: p.get("radius").round() as usize, alias_blur: p.get("alias_blur") }),
};

pub struct DefocusBlur {
    pub radius: usize,
    pub alias_blur: f64,
}

impl Perturbation for DefocusBlur {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // imagecorruptions softens the kernel with a 3x3 (radius <= 8) or 5x5 Gaussian (OpenCV's
        // GaussianBlur); the kernels are symmetric, so softening the result instead is the same,
        // up to the mass that softening adds at the kernel's window edge (see `kernel_mass`).
        let half = if self.radius <= 8 { 1 } else { 2 }.max((3.0 * self.alias_blur) as usize);
        let soft = alias_kernel(self.alias_blur, half);
        let gain = soft.as_ref().map_or(1.0, |k| kernel_mass(self.radius, k));
        let disk = disk_filter(image, self.radius, gain as f32);
        match soft {
            Some(k) => separable_image(&disk, w, h, &k, &k, Border::Reflect101),
            None => from_f32(w as u32, h as u32, &disk),
        }
    }
}

/// `gain` times the mean over the disk `dx^2 + dy^2 <= radius^2` around each pixel, edges
/// mirrored as OpenCV's `filter2D` (`BORDER_REFLECT_101`). A disk is a stack of horizontal runs,
/// so each pixel costs one difference of row prefix sums per disk row; the prefix rows live in
/// a ring of `2r + 1` rows.
fn disk_filter(image: &RgbImage, radius: usize, gain: f32) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let r = radius as isize;
    // Half-width of the disk's run on each row dy = -r..=r: the largest x with x^2 + dy^2 <= r^2.
    let runs: Vec<usize> = (0..=2 * radius)
        .map(|i| {
            let rest = radius * radius - (i as isize - r).pow(2) as usize;
            let mut x = (rest as f64).sqrt() as usize;
            // Float square roots can land one off either way.
            while x * x > rest {
                x -= 1;
            }
            while (x + 1) * (x + 1) <= rest {
                x += 1;
            }
            x
        })
        .collect();
    let area: usize = runs.iter().map(|hw| 2 * hw + 1).sum();
    let scale = gain / area as f32;

    let pw = w + 2 * radius; // padded width
    let pstride = (pw + 1) * 3; // prefix rows have a leading zero pixel
    let ring = 2 * radius + 1;
    let mut prefix = vec![0i32; ring * pstride];
    let src = image.as_raw();
    let cols: Vec<usize> = (0..pw).map(|px| Border::Reflect101.index(px as isize - r, w) * 3).collect();
    let fill = |prefix: &mut [i32], py: usize| {
        let sy = Border::Reflect101.index(py as isize - r, h);
        let row = &src[sy * w * 3..(sy + 1) * w * 3];
        let slot = &mut prefix[(py % ring) * pstride..(py % ring + 1) * pstride];
        let mut acc = [0i32; 3];
        for (px, &sx) in cols.iter().enumerate() {
            for c in 0..3 {
                acc[c] += row[sx + c] as i32;
                slot[(px + 1) * 3 + c] = acc[c];
            }
        }
    };
    for py in 0..2 * radius {
        fill(&mut prefix, py);
    }
    let stride = w * 3;
    let mut out = vec![0f32; h * stride];
    let mut acc = vec![0i32; stride];
    for (y, out_row) in out.chunks_exact_mut(stride).enumerate() {
        fill(&mut prefix, y + 2 * radius);
        acc.fill(0);
        for (i, &hw) in runs.iter().enumerate() {
            // Image row y + i - r is padded row y + i; the run covers padded columns x + r - hw ..= x + r + hw.
            let slot = &prefix[((y + i) % ring) * pstride..((y + i) % ring + 1) * pstride];
            let hi = &slot[(radius + hw + 1) * 3..];
            let lo = &slot[(radius - hw) * 3..];
            for ((a, &p), &q) in acc.iter_mut().zip(hi).zip(lo) {
                *a += p - q;
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = a as f32 * scale;
        }
    }
    out
}

/// Sum of imagecorruptions' kernel: the normalised disk in its window (17x17 up to radius 8,
/// else (2r+1)x(2r+1)) softened by `soft` with OpenCV's mirrored border. Where the disk reaches
/// the window's last rows, the mirror folds back mass that would have spilled out, so the kernel
/// sums to a little over 1 (1.3% at radius 8) and brightens the image that much.
fn kernel_mass(radius: usize, soft: &[f32]) -> f64 {
    let n = 2 * radius.max(8) + 1;
    let c = (n / 2) as isize;
    let inside = |x: usize, y: usize| (x as isize - c).pow(2) + (y as isize - c).pow(2) <= (radius * radius) as isize;
    let area = (0..n * n).filter(|&i| inside(i % n, i / n)).count() as f64;
    let disk: Vec<f32> = (0..n * n).map(|i| if inside(i % n, i / n) { (1.0 / area) as f32 } else { 0.0 }).collect();
    separable(&disk, n, n, 1, soft, soft, Border::Reflect101).iter().map(|&v| v as f64).sum()
}

/// OpenCV's `getGaussianKernel(2 * half + 1, sigma)`, or `None` when it is the identity in floats.
fn alias_kernel(sigma: f64, half: usize) -> Option<Vec<f32>> {
    if sigma <= 0.0 || (-0.5 / (sigma * sigma)).exp() < 1e-9 {
        return None;
    }
    let k: Vec<f64> =
        (0..=2 * half).map(|i| (-((i as f64 - half as f64).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = k.iter().sum();
    Some(k.iter().map(|v| (v / sum) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn disk_spreads_a_point_over_its_area() {
        let mut img = RgbImage::new(21, 21);
        img.put_pixel(10, 10, image::Rgb([255, 255, 255]));
        let out = disk_filter(&img, 3, 1.0);
        // 29 pixels lie within radius 3; each gets 255 / 29, the rest nothing.
        let inside = |x: usize, y: usize| (x as i32 - 10).pow(2) + (y as i32 - 10).pow(2) <= 9;
        for y in 0..21 {
            for x in 0..21 {
                let expected = if inside(x, y) { 255.0 / 29.0 } else { 0.0 };
                assert!((out[(y * 21 + x) * 3] - expected).abs() < 1e-4, "({x}, {y})");
            }
        }
    }

    #[test]
    fn flat_image_stays_flat_even_when_the_disk_exceeds_it() {
        let img = RgbImage::from_pixel(3, 2, image::Rgb([10, 200, 77]));
        let op = DefocusBlur { radius: 6, alias_blur: 0.5 };
        assert_eq!(op.apply(&img, &mut case_rng(0, "", 0)), img);
        // As in imagecorruptions, the softened radius-10 kernel sums to a little over 1.
        let op = DefocusBlur { radius: 10, alias_blur: 0.5 };
        assert_eq!(op.apply(&img, &mut case_rng(0, "", 0)).get_pixel(0, 0).0, [10, 202, 78]);
    }

    #[test]
    fn alias_kernel_matches_opencv() {
        let k = alias_kernel(0.5, 1).unwrap();
        let e = (-2.0f64).exp();
        assert!((k[0] as f64 - e / (1.0 + 2.0 * e)).abs() < 1e-7);
        assert!(alias_kernel(0.1, 1).is_none());
    }

    #[test]
    fn kernel_mass_grows_where_the_disk_touches_its_window() {
        let k = alias_kernel(0.5, 1).unwrap();
        assert!((kernel_mass(6, &k) - 1.0).abs() < 1e-6);
        let m = kernel_mass(8, &k);
        assert!(m > 1.005 && m < 1.03, "{m}");
    }
}
