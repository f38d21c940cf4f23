//! Geometry moves the labels: after a flip, a small rotation, a zoom or a crop the model still
//! finds the objects where they now are, so mAP stays near its clean value and few images count
//! as impacted. Were the labels left in place, a vertical flip would score near zero.

mod common;

use shakedown::suite::CaseKind;
use shakedown::vocab::Score;

#[test]
fn labels_follow_the_content() {
    let run = &common::load("geometry.yaml");
    let clean = common::scores(run, common::clean_case(run, 0));
    let clean_map50 = clean.get(Score::Map50).unwrap();
    assert!(clean_map50 > 0.7, "{clean:?}");
    let mut checked = 0;
    for case in run.cases.iter().filter(|c| matches!(c.kind, CaseKind::Perturbed { .. })) {
        let scores = common::scores(run, case);
        let (map50, risk) = (scores.get(Score::Map50).unwrap(), scores.get(Score::Risk).unwrap());
        // The shapes are symmetric enough that flips cost little; the zoom and crop change sizes.
        assert!(map50 > clean_map50 - 0.2, "{}: mAP@0.5 {map50} vs clean {clean_map50}", case.name);
        assert!(risk < 50.0, "{}: risk {risk}", case.name);
        checked += 1;
    }
    assert_eq!(checked, 5);
}
