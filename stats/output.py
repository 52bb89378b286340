"""The bilan as a CSV (one row per month, every figure a column) and as a chart: a PNG tall and
narrow with large type, for a phone's screen (matplotlib, no display needed)."""

from __future__ import annotations

import csv
import io

from locales import gettext_for
from stats.figures import READINESS_BANDS, Bilan


def columns(bilan: Bilan) -> list[str]:
    families = sorted({f for m in bilan.months for f in m.by_family})
    places = sorted({d for m in bilan.months for d in m.by_departement})
    extras = sorted({name for m in bilan.months for name in m.extra})
    return (["month", "structures_diagnosed", "readiness_mean"]
            + [f"readiness_{low}_{high}" for low, high in READINESS_BANDS]
            + ["alerts_sent", "alerts_interested", "interest_rate", "announcements_sent",
               "event_registrations"]
            + [f"family_{f}" for f in families] + [f"departement_{d}" for d in places] + extras)


def rows(bilan: Bilan) -> list[dict]:
    result = []
    for month in bilan.months:
        row = {"month": month.month, "structures_diagnosed": month.diagnosed,
               "readiness_mean": "" if month.readiness_mean is None
               else round(month.readiness_mean, 1),
               "alerts_sent": month.alerts_sent, "alerts_interested": month.alerts_interested,
               "interest_rate": "" if month.interest_rate is None
               else round(month.interest_rate, 3),
               "announcements_sent": month.announcements,
               "event_registrations": month.registrations}
        for low, high in READINESS_BANDS:
            row[f"readiness_{low}_{high}"] = month.readiness_band(low, high)
        row.update({f"family_{k}": v for k, v in month.by_family.items()})
        row.update({f"departement_{k}": v for k, v in month.by_departement.items()})
        row.update(month.extra)
        result.append(row)
    return result


def csv_bytes(bilan: Bilan) -> bytes:
    buffer = io.StringIO()
    names = columns(bilan)
    writer = csv.DictWriter(buffer, fieldnames=names, restval=0)
    writer.writeheader()
    writer.writerows(rows(bilan))
    return ("\ufeff" + buffer.getvalue()).encode()


def chart_png(bilan: Bilan, lang: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    _ = gettext_for(lang)
    labels = [m.month[2:].replace("-", "/") for m in bilan.months]  # 27/03
    x = range(len(labels))
    figure, (top, middle, bottom, last) = plt.subplots(4, 1, figsize=(6, 13), dpi=120,
                                                       constrained_layout=True)
    plt.rcParams.update({"font.size": 12})
    top.bar(x, [m.diagnosed for m in bilan.months], color="#2a7f62")
    top.set_title(_("Structures diagnosed"), fontsize=15)
    middle.bar(x, [m.alerts_sent for m in bilan.months], color="#3b6ea5",
               label=_("alerts sent"))
    middle.bar(x, [m.alerts_interested for m in bilan.months], color="#f2a541",
               label=_("marked interesting"))
    middle.set_title(_("Alerts and interest"), fontsize=15)
    middle.legend(fontsize=11)
    bottom.bar([i - 0.2 for i in x], [m.announcements for m in bilan.months], width=0.4,
               color="#8e5ea2", label=_("announcements"))
    bottom.bar([i + 0.2 for i in x], [m.registrations for m in bilan.months], width=0.4,
               color="#c45850", label=_("registrations"))
    bottom.set_title(_("Announcements and registrations"), fontsize=15)
    bottom.legend(fontsize=11)
    def extra(name: str) -> list[float]:
        return [m.extra.get(name) or 0 for m in bilan.months]

    for offset, name, color, label in (
            (-0.3, "groupements_formed", "#2a7f62", _("groupements formed")),
            (-0.1, "groupements_won", "#f2a541", _("groupements won")),
            (0.1, "support_opened", "#3b6ea5", _("support requests")),
            (0.3, "contracts_won", "#c45850", _("contracts won"))):
        last.bar([i + offset for i in x], extra(name), width=0.2, color=color, label=label)
    last.set_title(_("Groupements, support and contracts"), fontsize=15)
    last.legend(fontsize=11)
    for axis in (top, middle, bottom, last):
        axis.set_xticks(list(x), labels, rotation=45 if len(labels) > 6 else 0, fontsize=11)
        axis.yaxis.get_major_locator().set_params(integer=True)
        axis.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
