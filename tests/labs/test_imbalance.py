"""Lab `imbalance`: measured outcomes beyond the contract."""


def test_imbalance_lab_outcomes(quick_result):
    result, run_dir = quick_result("imbalance")
    v = result.value
    for data in ("Default", "lending_club"):
        # class weights raise minority recall at 0.5 far above the plain model's
        assert v(f"{data}/class weights/recall@0.5") > v(f"{data}/plain/recall@0.5") + 0.3
        # ... while the ranking barely moves
        assert abs(v(f"{data}/class weights/pr_auc") - v(f"{data}/plain/pr_auc")) < 0.02
        # threshold moving does the same job as reweighting
        assert abs(v(f"{data}/plain/balanced_acc@base_rate") - v(f"{data}/class weights/balanced_acc@0.5")) < 0.03
        # resampling changes the training size as it should
        n = v(f"{data}/plain/train_size")
        assert v(f"{data}/random undersampling/train_size") < 0.15 * n < n < v(f"{data}/SMOTE/train_size")
    # undersampling throws data away: harmless with Default's 3 features, costly with lending_club's 85
    assert v("lending_club/random undersampling/pr_auc") < v("lending_club/plain/pr_auc")
    assert abs(v("islr/beta0") + 10.6513) < 5e-4
    # the rare image class: nothing without help, more with oversampling, more still with augmentation
    assert v("images/plain/minority_recall") < 0.3
    assert v("images/oversampling + augmentation/minority_recall") > v("images/oversampling/minority_recall") > v("images/plain/minority_recall")
    # negative sampling: DNS > uniform > popularity-weighted; all personalised models far above random
    assert v("negatives/hard (DNS)/recall@20") > v("negatives/uniform/recall@20") > v("negatives/popularity/recall@20")
    assert v("negatives/uniform/recall@20") > 20 * 20 / 9066
    table = (run_dir / "imbalance_table.md").read_text()
    assert table.count("| Default |") == 7 and table.count("| lending_club |") == 7
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
