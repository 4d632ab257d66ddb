"""The verdict rules of "Section 2.4, measured" (derivations/14, the table at its end): each function turns
stored numbers into one sentence, and names a direction only where :func:`nprob.sample_quality.separated` (two
combined standard errors) or the stated threshold separates it from noise. Tested both ways in
``tests/test_section24.py``."""
from __future__ import annotations

from ..sample_quality import separated


def mean_se(value: dict, fmt: str) -> str:
    """'m ± se' of a {'mean', 'se'} dict, each number formatted by ``fmt``."""
    return f"{fmt.format(value['mean'])} ± {fmt.format(value['se'])}"


def improving(evals: list[dict], noise: float) -> bool:
    """Whether the last evaluation's FID beat every earlier one by more than ``noise``."""
    fids = [e["fid"] for e in evals]
    return len(fids) > 1 and fids[-1] < min(fids[:-1]) - noise


def collapse_text(kind: str, row: dict) -> str:
    """A game whose samples' mean label has less than 1 nat of entropy shows mostly one or two digits."""
    entropy = row["entropy_of_mean"]
    if entropy["mean"] + 2 * entropy["se"] < 1.0:
        return (f" Its samples' mean label has entropy {mean_se(entropy, '{:.2f}')} nats (log 10 = 2.30 for all digits "
                f"alike): it has collapsed onto few digits and is not a fair opponent with this remedy.")
    return ""


def likelihood_verdict(obj: dict) -> str:
    gaps = {name: o for name, o in obj.items() if "gap" in o}
    if gaps and all(o["gap"] > 2 * o["gap_se"] for o in gaps.values()):
        return ("Verdict on 9.1: false. Each VAE's ELBO lies below its log-likelihood by more than twice the gap's "
                "standard error (" + ", ".join(f"{n} {o['gap']:.2f} nats" for n, o in gaps.items()) + "), so a VAE "
                "maximises a bound, not the likelihood; the games optimise no likelihood at all.")
    if gaps:
        return ("The ELBO gap is not separated from zero for every VAE here; the games optimise no likelihood, "
                "which alone makes the statement false.")
    return "No VAE with an exact log p(x) was measured in this folder (run --parts helmholtz first)."


def divergence_verdict(toy: dict) -> str:
    """A model moved towards the data if its lattice JSD fell by more than 0.01 nats from the untrained model to
    the last evaluation."""
    moved = {name: h["initial"]["jsd"] - h["evals"][-1]["jsd"] > 0.01 for name, h in toy.items()}
    finite = {name: "kl_data_model" in h["evals"][-1] for name, h in toy.items()}
    words = [f"the {name}'s JSD {'fell' if moved[name] else 'did not fall by more than 0.01 nats'} "
             f"({h['initial']['jsd']:.3f} untrained, {h['evals'][-1]['jsd']:.3f} at the end) and its "
             "KL(data ‖ model) ends "
             f"{'finite' if finite[name] else 'infinite'}" for name, h in toy.items()]
    text = "During training " + "; ".join(words) + "."
    if all(moved.values()):
        text += (" Both moved towards the data as measured by a divergence, so 9.2 holds in that sense; but only the "
                 "VAE's objective bounds one (KL(data ‖ model), eq. 9.1), and a GAN's law can keep data cells empty, "
                 "where that KL is infinite.")
    return text


def surface_verdict(surface: dict) -> str:
    """The lattice's own error is what it leaves on samples that lie on the surface (their true distance is 0);
    test images are off the surface only where their bound exceeds that error."""
    test, own = surface["test images"][-1], surface["own samples"][-1]
    if test["q10"] > 2 * own["q90"]:
        return (f"On the finest lattice the bound left on the GAN's own samples, whose true distance is 0, is at most "
                f"{own['q90']:.3f} for 90% of them, while 90% of test images are at least {test['q10']:.3f} from the "
                "nearest lattice code: they lie off the part of the surface that codes in [-4, 4]^2 reach (almost "
                "all of the prior's mass), where the GAN's law has no mass and no density. Verdict on 9.3: false; "
                "the VAE defines log p(x) (table 9.1), the GAN none in 784 dimensions.")
    return ("On the finest lattice the test images' bounds are not clearly larger than the error the lattice leaves on "
            "the GAN's own samples: this measurement does not separate the test images from the surface.")


def sharpness_verdict(rows: dict, vae: str, game: str) -> str:
    """Sharper means lower pixel entropy and higher edge energy (derivations/14 (14.5)-(14.6))."""
    entropy = separated(rows[vae]["pixel_entropy"], rows[game]["pixel_entropy"])
    edges = separated(rows[vae]["edge_energy"], rows[game]["edge_energy"])
    if entropy == -1 and edges == 1:
        return f"{vae} are sharper than {game} by both measures"
    if entropy == 1 and edges == -1:
        return f"{game} are sharper than {vae} by both measures"
    return f"the two sharpness measures do not agree on {vae} against {game}, or do not separate them"


def sharpness_summary(verdicts: list[str]) -> str:
    if verdicts and all(v.startswith(("gan", "bigan")) for v in verdicts):
        return "Verdict on 9.4: false on these measurements: every GAN's samples are sharper than every VAE's."
    if verdicts and all(not v.startswith(("gan", "bigan", "the two")) for v in verdicts):
        return "Verdict on 9.4: true on these measurements: every VAE's samples are sharper than every GAN's."
    return "Verdict on 9.4: these measurements do not decide it in one direction for every pair."


def discrete_verdict(d: dict, first: str) -> str:
    """False needs: grey-level GAN samples that are not binary, a probe that tells them from data more easily than
    the VAE's (beyond two combined standard errors), and binary samples from the straight-through generator."""
    grey, vae = d["probes"]["gan_grey"][first], d["probes"]["vae"][first]
    left = d["histories"]["gan_grey"]["evals"][-1]["non_binary_pixels"]
    binary_st = d["histories"]["gan_straight_through"]["evals"][-1]["non_binary_pixels"] == 0
    if left > 0 and separated(grey, vae) == 1 and binary_st:
        return (f"Verdict on 9.5: false. The VAE models binary images directly with a normalised likelihood. The "
                f"GAN's generator outputs grey levels ({100 * left:.1f}% of its pixels still farther than 0.01 from 0 "
                f"and 1 after training), and a fresh discriminator tells its samples from binary data with accuracy "
                f"{mean_se(grey, '{:.3f}')} after {first} steps, against {mean_se(vae, '{:.3f}')} for the VAE's; "
                "binary samples needed an extra device, the straight-through draw, whose gradient is biased (result "
                "14.13).")
    return (f"A fresh discriminator separates the grey-level GAN from binary data with accuracy "
            f"{mean_se(grey, '{:.3f}')} after {first} steps, the VAE's samples with {mean_se(vae, '{:.3f}')}; "
            "these measurements alone do not "
            "settle 9.5.")
