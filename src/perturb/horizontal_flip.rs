//! Horizontal flip: the scene mirrored left to right, as from a mirrored camera or augmented data.

use image::RgbImage;

use super::warp::{Geometric, Homography, Warped};
use super::{PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "horizontal_flip",
    factor: RiskFactor::Geometry,
    summary: "mirror left to right; labels are mirrored too",
    params: &[],
    severities: [&[], &[], &[], &[], &[]],
    make: |_| Box::new(Warped(HorizontalFlip)),
};

pub struct HorizontalFlip;

impl Geometric for HorizontalFlip {
    fn motion(&self, width: u32, _height: u32, _rng: &mut CaseRng) -> Homography {
        Homography::scale_translate(-1.0, 1.0, f64::from(width), 0.0)
    }

    fn render(&self, image: &RgbImage, _motion: &Homography) -> RgbImage {
        // Straight over the raw rows, a fixed 3-byte copy per pixel: `imageops::flip_horizontal`
        // goes pixel by pixel through bounds-checked accessors, several times slower.
        let row_len = 3 * image.width() as usize;
        let mut out = Vec::with_capacity(image.as_raw().len());
        if row_len > 0 {
            for src in image.as_raw().chunks_exact(row_len) {
                super::simd::reverse_pixels(src, &mut out);
            }
        }
        RgbImage::from_raw(image.width(), image.height(), out).expect("buffer sized from the image")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;
    use crate::perturb::Perturbation;

    #[test]
    fn mirrors_pixels_and_boxes_alike() {
        let img = RgbImage::from_fn(5, 2, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let moved = Warped(HorizontalFlip).apply_moving(&img, &mut case_rng(0, "", 0));
        assert_eq!(moved.image.get_pixel(0, 1).0, [4, 1, 0]);
        let motion = moved.motion.unwrap();
        // The box around pixel column 0 ends up around column 4.
        assert_eq!(motion.move_box([0.0, 0.0, 1.0, 2.0], 5, 2), Some([4.0, 0.0, 5.0, 2.0]));
        assert_eq!(super::super::warp::warp(&img, &motion), moved.image, "fast path agrees with the map");
    }
}
