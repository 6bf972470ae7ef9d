"""The project's admin site: Django's, with its titles and one guard for every model's list."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect

from common.auth import AdminSignInForm
from common.cleaning import plain_int


def selection_is_valid(values: list[str]) -> bool:
    """Posted row ids are plain ASCII digits of a sane length. Django's admin hands them straight
    to `pk__in`, where a value such as `abc` would end in a server error."""
    return all(plain_int(value) is not None for value in values)


class BackstockAdminSite(admin.AdminSite):
    site_header = "Backstock administration"
    site_title = "Backstock admin"
    index_title = "Data fixes"
    login_form = AdminSignInForm

    def admin_view(self, view, cacheable=False):
        """Every admin page goes through here, so a tampered action selection is refused with a
        message on every model's list, third-party admins included, before any query runs."""

        def guarded(request, *args, **kwargs):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if request.method == "POST" and not selection_is_valid(selected):
                messages.warning(request, "The selection is not valid; tick the rows again.")
                return HttpResponseRedirect(request.get_full_path())
            return view(request, *args, **kwargs)

        guarded.__name__ = getattr(view, "__name__", "admin_view")
        guarded.__doc__ = view.__doc__
        return super().admin_view(guarded, cacheable)
