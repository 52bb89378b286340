"""Headers as mail clients write them: plain ASCII (read as is), encoded words and raw 8-bit
bytes (decoded), folded over several lines."""

from channels.email.parse import parse


def _raw(*headers: str, body: str = "INTERESSE\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def test_plain_headers_are_read_unfolded():
    mail = parse(_raw("From: Marie <marie@asso.test>",
                      "To: reply+k@reply.test,\r\n\tColette <colette@asso.test>",
                      "Cc: \"Dupont, Jean\" <jean@asso.test>",
                      "Subject: Re: Entretien des\r\n espaces verts",
                      "Message-ID: <m1@asso.test>", "In-Reply-To: <a1@centrale.test>",
                      "References: <a0@centrale.test>\r\n <a1@centrale.test>"),
                 "marie@asso.test")
    assert mail.sender == "marie@asso.test"
    assert mail.recipients == ["reply+k@reply.test", "colette@asso.test", "jean@asso.test"]
    assert mail.subject == "Re: Entretien des espaces verts"
    assert mail.message_id == "<m1@asso.test>"
    assert mail.in_reply_to == ["<a1@centrale.test>", "<a0@centrale.test>", "<a1@centrale.test>"]
    assert mail.automatic is None and mail.problem is None and mail.text == "INTERESSE\r\n"


def test_encoded_words_are_decoded():
    mail = parse(_raw("From: =?utf-8?q?Marie_Dupr=C3=A9?= <Marie@Asso.test>",
                      "To: reply+k@reply.test",
                      "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_=3A_absence?=\r\n"
                      " =?iso-8859-1?q?_du_bureau_=E9t=E9?="),
                 "marie@asso.test")
    assert mail.sender == "marie@asso.test"
    assert mail.subject == "Réponse automatique : absence du bureau été"
    assert mail.automatic and mail.automatic.startswith("subject")


def test_raw_utf8_headers_are_decoded():
    raw = ("From: Andrée Colin <andree@asso.test>\r\nTo: reply+k@reply.test\r\n"
           "Subject: Re: Crèche « Les Lutins »\r\n\r\nPARTENAIRES\r\n").encode()
    mail = parse(raw, "andree@asso.test")
    assert mail.sender == "andree@asso.test"
    assert mail.subject == "Re: Crèche « Les Lutins »"
    assert mail.text.startswith("PARTENAIRES")
