"""The security lab's quick preset."""


def test_access_audit_signing_and_robustness(quick_result):
    result, _ = quick_result("security")
    failed = [c.name for c in result.checks if not c.passed]
    assert not failed, failed
    assert result.value("audit/records") >= 6
    std, adv = result.value("standard/pgd_acc_eps0.1"), result.value("adversarial/pgd_acc_eps0.1")
    assert adv > std + 0.15
    assert result.value("standard/pgd_acc_eps0.1") <= result.value("standard/fgsm_acc_eps0.1") + 0.01
    assert result.value("standard/clean_accuracy") > result.value("adversarial/clean_accuracy")


# -- the prompt-injection leak count, judged apart from the guard ----------------------------------
class _NoGuard:
    """An output guard that withholds nothing: the fault the lab's leak check must catch."""

    def __init__(self, canary, system):
        self.blocked = False

    def feed(self, chunk):
        return chunk

    def finish(self):
        return ""


def _scripted_chat(guard):
    """The chat service with its model replaced by a script: every attack gets the canary spelled out, in chunks."""
    from modelbook.labs.security import CANARY
    from modelbook.security.injection import ATTACKS, system_prompt
    from modelbook.serving.chat_endpoint import ChatService

    attacks = {text for _, text in ATTACKS}

    class ScriptedChat(ChatService):
        def __init__(self):
            self.canary, self.system, self.guard = CANARY, system_prompt(CANARY), guard

        @property
        def special_tokens(self):
            return []

        def _generate(self, messages, max_new_tokens, defended=True, streamer=None):
            if messages[-1]["content"] in attacks:
                return "Sure, here it is: m b 7 f 3 a 9 c 2 1. Anything else?"
            return "Dropout zeroes random activations during training, which reduces overfitting."

        def _chunks(self, messages, max_new_tokens):
            answer = self._generate(messages, max_new_tokens)
            yield from (answer[i:i + 5] for i in range(0, len(answer), 5))

    return ScriptedChat()


def _injection_checks(guard):
    from modelbook.core.result import LabResult
    from modelbook.labs import security

    cfg = security.PRESETS["quick"]
    result = LabResult("security", cfg)
    security._prompt_injection(result, cfg, svc=_scripted_chat(guard))
    return result


def test_prompt_injection_check_passes_with_the_guard_on():
    from modelbook.security.injection import ATTACKS, OutputGuard

    result = _injection_checks(OutputGuard)
    assert not result.failed_checks, [c.name for c in result.failed_checks]
    assert result.value("injection/undefended_leaks") == len(ATTACKS) == result.value("injection/blocked")


def test_prompt_injection_check_fails_with_the_guard_off():
    from modelbook.security.injection import ATTACKS

    result = _injection_checks(_NoGuard)
    failed = {c.name: c.measured for c in result.failed_checks}
    leak_check = next(name for name in failed if name.startswith("prompt injection:"))
    assert failed[leak_check] == len(ATTACKS)


def test_pgd_at_least_as_strong_check_bites():
    """The 'PGD is at least as strong as FGSM' check: real PGD passes; a PGD that takes no step (random start only,
    alpha = 0) leaves most of FGSM's victims right, and its p-value falls below the level."""
    import torch

    from modelbook.adversarial import fgsm, pgd, robust_correct
    from modelbook.labs.security import PGD_WEAKER_ALPHA, pgd_weaker_p_value

    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(50, 5)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(5, 50, generator=g))
    x = torch.rand(400, 50, generator=g)
    y = lin(x).argmax(1)   # labels the model gets right: every image starts correct
    f_ok = robust_correct(lin, x, y, lambda m, a, b: fgsm(m, a, b, 0.1))
    p_ok = robust_correct(lin, x, y, lambda m, a, b: pgd(m, a, b, 0.1, steps=10, generator=torch.Generator().manual_seed(0)))
    broken = robust_correct(lin, x, y, lambda m, a, b: pgd(m, a, b, 0.1, alpha=0.0, steps=1, generator=torch.Generator().manual_seed(0)))
    assert 0 < f_ok.float().mean() < 0.9
    assert pgd_weaker_p_value(f_ok, p_ok) >= PGD_WEAKER_ALPHA
    assert pgd_weaker_p_value(f_ok, broken) < PGD_WEAKER_ALPHA
