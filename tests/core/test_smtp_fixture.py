"""The SMTP fixture is a real server on loopback: a message sent through Django's mailer arrives."""

from django.core import mail


def test_mail_goes_through_a_real_smtp_server(smtp_server):
    sent = mail.send_mail("Tēma", "Sveiki!", "dagr@example.lv", ["janis@example.lv"])
    assert sent == 1
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "janis@example.lv"
    assert "Sveiki" in message.get_payload(decode=True).decode()
