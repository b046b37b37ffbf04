"""Admin: bulletins are composed in the portal's own pages; here they can be looked up.

A published issue is frozen, in the admin too: it cannot be changed or deleted.
"""

from django.contrib import admin

from .models import Article, Bulletin


class ArticleInline(admin.StackedInline):
    model = Article
    extra = 0
    fields = ["section", "order", "title", "body", "source", "generated"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_published)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_published)


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    list_display = ["label", "issue_date", "status", "stats_label", "published_at"]
    list_filter = ["status", "year"]
    ordering = ["-year", "-number"]
    readonly_fields = ["status", "published_at", "published_by", "stats_year", "stats_from", "stats_through",
                       "generated_at", "snapshot"]
    inlines = [ArticleInline]

    @admin.display(description="期号")
    def label(self, obj):
        return obj.label

    @admin.display(description="情况通报期间")
    def stats_label(self, obj):
        return obj.stats_label

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_published)
