//! Vertical flip: the scene upside down, as from a camera mounted the other way up.

use image::RgbImage;

use super::warp::{Geometric, Homography, Warped};
use super::{PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "vertical_flip",
    factor: RiskFactor::Geometry,
    summary: "upside down; labels are flipped too",
    params: &[],
    severities: [&[], &[], &[], &[], &[]],
    make: |_| Box::new(Warped(VerticalFlip)),
};

pub struct VerticalFlip;

impl Geometric for VerticalFlip {
    fn motion(&self, _width: u32, height: u32, _rng: &mut CaseRng) -> Homography {
        Homography::scale_translate(1.0, -1.0, 0.0, f64::from(height))
    }

    fn render(&self, image: &RgbImage, _motion: &Homography) -> RgbImage {
        // Whole rows copied in reverse order into an unfilled buffer: one memcpy a row, no zeroing.
        let row_len = 3 * image.width() as usize;
        let mut out = Vec::with_capacity(image.as_raw().len());
        if row_len > 0 {
            for row in image.as_raw().chunks_exact(row_len).rev() {
                out.extend_from_slice(row);
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
    fn flips_pixels_and_boxes_alike() {
        let img = RgbImage::from_fn(2, 5, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let moved = Warped(VerticalFlip).apply_moving(&img, &mut case_rng(0, "", 0));
        assert_eq!(moved.image.get_pixel(1, 0).0, [1, 4, 0]);
        let motion = moved.motion.unwrap();
        assert_eq!(motion.move_box([0.0, 0.0, 2.0, 1.0], 2, 5), Some([0.0, 4.0, 2.0, 5.0]));
        assert_eq!(super::super::warp::warp(&img, &motion), moved.image, "fast path agrees with the map");
    }
}
