"""Form pieces shared by every admin form that takes a secret."""

from django import forms


class WriteOnlySecretField(forms.CharField):
    """A password input that never renders a value: secrets are entered, never shown."""

    def __init__(self, *, label: str, help_text: str, required: bool = False, **kwargs):
        widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
        super().__init__(
            label=label, help_text=help_text, required=required, strip=True, widget=widget, **kwargs
        )
