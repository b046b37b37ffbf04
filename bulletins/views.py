"""Pages of the work bulletin.

Everyone logged in reads published issues (web page, DOCX, PDF); drafts and every
edit are the office's.  An issue is fetched from the queryset the user may see,
so a draft is a 404 to a unit's reporter.  A published issue has no edit forms:
its editor redirects to the issue, and the services refuse any change anyway.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reporting.views import office_required

from . import selectors, services
from .document import issue_sections
from .forms import ArticleForm, BulletinForm, GenerateForm, default_indicators, initial_create
from .models import Article, Bulletin, Section
from .pdf import bulletin_pdf
from .render_docx import MEDIA_TYPE as DOCX_MEDIA_TYPE
from .render_docx import bulletin_docx

DOWNLOADS = {
    "docx": (bulletin_docx, DOCX_MEDIA_TYPE),
    "pdf": (bulletin_pdf, "application/pdf"),
}


def _issue(request, year, number):
    return get_object_or_404(selectors.bulletins_visible_to(request.user), year=year, number=number)


def _draft(request, year, number):
    """The office's draft, or None (with a message) when it is already published."""
    bulletin = _issue(request, year, number)
    if bulletin.is_published:
        messages.info(request, f"{bulletin.label}已发布，不能再修改。")
        return None
    return bulletin


def _article(bulletin, article_id):
    return get_object_or_404(Article, pk=article_id, bulletin=bulletin)


def _form_errors(request, form):
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
def bulletin_list(request):
    return render(request, "bulletins/list.html", {
        "archive": selectors.archive(request.user),
        "drafts": selectors.drafts() if request.user.is_office else [],
    })


@office_required
def bulletin_create(request):
    if request.method == "POST":
        form = BulletinForm(request.POST, creating=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                bulletin = services.bulletin_create(
                    year=data["year"], number=data["number"], issue_date=data["issue_date"],
                    issuing_office=data["issuing_office"], masthead=data["masthead"], user=request.user,
                )
            except services.ServiceError as exc:
                form.add_error("number", str(exc))
            else:
                messages.success(request, f"已创建{bulletin.label}。")
                return redirect("bulletin_edit", bulletin.year, bulletin.number)
    else:
        initial = initial_create()
        initial["number"] = services.bulletin_next_number(year=initial["year"])
        form = BulletinForm(initial=initial, creating=True)
    return render(request, "bulletins/create.html", {"form": form})


@login_required
def bulletin_detail(request, year, number):
    """The issue laid out like the printed bulletin (drafts: the office's preview)."""
    bulletin = _issue(request, year, number)
    return render(request, "bulletins/detail.html", {
        "bulletin": bulletin, "sections": issue_sections(bulletin),
    })


@office_required
def bulletin_edit(request, year, number):
    """The composer: metadata, the sections with their articles, generation, publishing."""
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    if request.method == "POST":
        form = BulletinForm(request.POST, instance=Bulletin.objects.get(pk=bulletin.pk))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.bulletin_update(bulletin=bulletin, user=request.user, issue_date=data["issue_date"],
                                         issuing_office=data["issuing_office"], masthead=data["masthead"])
            except services.ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "已保存本期信息。")
            return redirect("bulletin_edit", year, number)
    else:
        form = BulletinForm(instance=bulletin)
    columns = selectors.indicator_columns()
    defaults = selectors.generate_defaults(bulletin)
    generate_form = GenerateForm(
        initial={**defaults, "indicators": bulletin.snapshot.get("indicators") or default_indicators(columns)},
        columns=columns,
    )
    return render(request, "bulletins/edit.html", {
        "bulletin": bulletin,
        "form": form,
        "generate_form": generate_form,
        "pending": selectors.pending_for(defaults),
        "sections": issue_sections(bulletin, include_empty=True),
        "article_form": ArticleForm(),
    })


@office_required
@require_POST
def bulletin_generate(request, year, number):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    form = GenerateForm(request.POST, columns=selectors.indicator_columns())
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("bulletin_edit", year, number)
    data = form.cleaned_data
    try:
        bulletin = services.bulletin_generate(bulletin=bulletin, year=data["year"], first=data["from"],
                                              last=data["through"], indicators=data["indicators"] or None,
                                              user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已根据{bulletin.stats_label}的统计数据生成情况通报和统计表。")
        pending = bulletin.snapshot.get("pending", 0)
        if pending:
            messages.warning(request, f"{bulletin.stats_label}另有 {pending} 份月度报表已提交、尚待审核，未计入本期统计；"
                                      "通报中已写明。审核后重新生成即可计入。")
    return redirect(f"{bulletin.get_absolute_url()}edit/#sec-{Section.STATUS}")


@office_required
@require_POST
def bulletin_city_rank(request, year, number):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    try:
        services.city_rank_generate(bulletin=bulletin, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "已根据最新的城市信用监测排名生成【城市排名】。")
    return redirect(f"{bulletin.get_absolute_url()}edit/#sec-{Section.CITY_RANK}")


@office_required
def bulletin_publish(request, year, number):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    if request.method == "POST":
        try:
            services.bulletin_publish(bulletin=bulletin, user=request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect("bulletin_edit", year, number)
        messages.success(request, f"{bulletin.label}已发布。")
        return redirect("bulletin_detail", year, number)
    return render(request, "bulletins/publish_confirm.html", {
        "bulletin": bulletin, "sections": issue_sections(bulletin),
    })


@office_required
@require_POST
def bulletin_delete(request, year, number):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    try:
        services.bulletin_delete(bulletin=bulletin, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("bulletin_edit", year, number)
    messages.success(request, f"已删除草稿{bulletin.label}。")
    return redirect("bulletin_list")


@office_required
def article_create(request, year, number):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                article = services.article_create(bulletin=bulletin, user=request.user, **form.cleaned_data)
            except services.ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "已添加文章。")
                return redirect(f"{bulletin.get_absolute_url()}edit/#article-{article.pk}")
    else:
        section = request.GET.get("section")
        form = ArticleForm(initial={"section": section if section in Section.values else Section.PROGRESS})
    return render(request, "bulletins/article_form.html", {"bulletin": bulletin, "form": form})


@office_required
def article_edit(request, year, number, article_id):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    article = _article(bulletin, article_id)
    if request.method == "POST":
        form = ArticleForm(request.POST, instance=Article.objects.get(pk=article.pk))
        if form.is_valid():
            try:
                services.article_update(article=article, user=request.user, **form.cleaned_data)
            except services.ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "已保存文章。")
                return redirect(f"{bulletin.get_absolute_url()}edit/#article-{article.pk}")
    else:
        form = ArticleForm(instance=article)
    return render(request, "bulletins/article_form.html", {"bulletin": bulletin, "form": form, "article": article})


@office_required
@require_POST
def article_delete(request, year, number, article_id):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    article = _article(bulletin, article_id)
    try:
        services.article_delete(article=article, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已删除文章“{article}”。")
    return redirect(f"{bulletin.get_absolute_url()}edit/#sec-{article.section}")


@office_required
@require_POST
def article_move(request, year, number, article_id):
    bulletin = _draft(request, year, number)
    if bulletin is None:
        return redirect("bulletin_detail", year, number)
    article = _article(bulletin, article_id)
    try:
        services.article_move(article=article, user=request.user, up=request.POST.get("direction") == "up")
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    return redirect(f"{bulletin.get_absolute_url()}edit/#article-{article.pk}")


@login_required
def bulletin_download(request, year, number, fmt):
    bulletin = _issue(request, year, number)
    if fmt not in DOWNLOADS:
        raise Http404("不支持的格式。")
    render_file, media_type = DOWNLOADS[fmt]
    return FileResponse(
        io.BytesIO(render_file(bulletin)), as_attachment=True, filename=f"{bulletin.filename_stem}.{fmt}", content_type=media_type,
    )
