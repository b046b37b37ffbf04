"""The work bulletin (工作简报): numbered issues of articles in fixed sections.

An issue is a draft until the office publishes it; from then on it is frozen.
Its statistics tables are kept as a JSON snapshot taken when its 情况通报 was
generated, so a published issue reads the same whatever happens to the data later.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

DEFAULT_ISSUING_OFFICE = "营口市社会信用体系建设领导小组办公室"
DEFAULT_MASTHEAD = "营口信用体系建设"
MASTHEAD_SUBTITLE = "工作简报"


def default_issuing_office():
    return getattr(settings, "BULLETIN_ISSUING_OFFICE", DEFAULT_ISSUING_OFFICE)


def default_masthead():
    return getattr(settings, "BULLETIN_MASTHEAD", DEFAULT_MASTHEAD)


class Section(models.TextChoices):
    """The bulletin's sections, in the order they are printed."""

    CITY_RANK = "city_rank", "城市排名"
    DOCUMENTS = "documents", "重要文件"
    PROGRESS = "progress", "工作推进"
    REWARDS = "rewards", "联合奖惩"
    COUNTIES = "counties", "县区风采"
    BRIEFS = "briefs", "工作简讯"
    STATUS = "status", "情况通报"


SECTION_ORDER = list(Section.values)


class Bulletin(models.Model):
    """One issue (一期) of the work bulletin."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"

    year = models.PositiveIntegerField("年份")
    number = models.PositiveIntegerField("期号", help_text="当年第几期")
    issue_date = models.DateField("印发日期")
    issuing_office = models.CharField("印发单位", max_length=100, default=default_issuing_office)
    masthead = models.CharField("报头", max_length=50, default=default_masthead,
                                help_text=f"红色报头第一行，第二行固定为“{MASTHEAD_SUBTITLE}”")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="发布人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    # The range of the generated 情况通报 and its tables, as of the last generation.
    stats_year = models.PositiveIntegerField("统计年份", null=True, blank=True)
    stats_from = models.PositiveSmallIntegerField("统计起始月", null=True, blank=True)
    stats_through = models.PositiveSmallIntegerField("统计截止月", null=True, blank=True)
    snapshot = models.JSONField("统计表快照", default=dict, blank=True,
                                help_text="生成情况通报时的统计表数据，发布后不再随数据变化")
    generated_at = models.DateTimeField("情况通报生成时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-year", "-number"]
        verbose_name = "工作简报"
        verbose_name_plural = "工作简报"
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="one_bulletin_per_year_number"),
        ]

    def __str__(self):
        return f"{self.masthead}{MASTHEAD_SUBTITLE}{self.label}"

    def get_absolute_url(self):
        return reverse("bulletin_detail", args=[self.year, self.number])

    @property
    def label(self):
        return f"〔{self.year}〕第{self.number}期"

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def date_label(self):
        return f"{self.issue_date.year}年{self.issue_date.month}月{self.issue_date.day}日"

    @property
    def stats_label(self):
        if not self.stats_year:
            return ""
        return f"{self.stats_year}年{self.stats_from}—{self.stats_through}月"

    @property
    def filename_stem(self):
        return f"{self.masthead}{MASTHEAD_SUBTITLE}{self.year}年第{self.number}期"


class Article(models.Model):
    """An article of an issue: a title, paragraphs separated by blank lines, a source line."""

    bulletin = models.ForeignKey(Bulletin, verbose_name="简报", on_delete=models.CASCADE, related_name="articles")
    section = models.CharField("栏目", max_length=20, choices=Section.choices)
    order = models.PositiveIntegerField("顺序", default=0)
    title = models.CharField("标题", max_length=200, blank=True,
                             help_text="可换行（长标题分两行）；工作简讯可不填标题")
    body = models.TextField("正文", help_text="段落之间空一行")
    source = models.CharField("来源", max_length=100, blank=True, help_text="如（市信用办）、（摘自信用中国网）")
    generated = models.BooleanField("自动生成", default=False,
                                    help_text="由系统根据统计数据生成，重新生成时会被替换")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["bulletin", "order", "id"]
        verbose_name = "文章"
        verbose_name_plural = "文章"

    def __str__(self):
        return self.title_text or self.body[:30]

    @property
    def title_lines(self):
        return [line.strip() for line in self.title.splitlines() if line.strip()]

    @property
    def title_text(self):
        return "".join(self.title_lines)

    @property
    def paragraphs(self):
        return split_paragraphs(self.body)

    @property
    def source_line(self):
        """The source in full-width brackets, as printed: （市信用办）."""
        source = self.source.strip()
        if not source:
            return ""
        if source[0] in "（(" and source[-1] in "）)":
            source = source[1:-1].strip()
        return f"（{source}）"


def split_paragraphs(text):
    """Paragraphs are separated by blank lines; the lines of one paragraph are joined.

    Text pasted from a PDF is hard-wrapped; Chinese lines join without a space,
    Latin words with one.
    """
    paragraphs, lines = [], []
    for raw in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if line:
            lines.append(line)
        elif lines:
            paragraphs.append(_join_lines(lines))
            lines = []
    if lines:
        paragraphs.append(_join_lines(lines))
    return paragraphs


def _join_lines(lines):
    text = lines[0]
    for line in lines[1:]:
        latin = text[-1].isascii() and text[-1].isalnum() and line[0].isascii() and line[0].isalnum()
        text += (" " if latin else "") + line
    return text
