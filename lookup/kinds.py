"""What each category says about a market subject, for the lookup.  Plain data: no database.

The codes are those of fixtures/categories.csv.  A category an administrator adds later
falls into a kind by its record schema (行政许可, 行政处罚, or 其他信用信息); activity
categories (reports, campaigns) are about no subject and are never searched.
"""

from dataclasses import dataclass

# Record schemas whose rows name a market subject (行政相对人 / 主体名称).
SUBJECT_SCHEMAS = ("license", "penalty", "subject")


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    order: int


LICENSE = Kind("license", "行政许可", 10)
PENALTY = Kind("penalty", "行政处罚", 20)
BLACKLIST = Kind("blacklist", "黑名单", 30)
BLACKLIST_EXIT = Kind("blacklist_exit", "退出黑名单", 35)
REDLIST = Kind("redlist", "红名单", 40)
JOINT_CASE = Kind("joint_case", "联合奖惩案例", 50)
COMMITMENT = Kind("commitment", "信用承诺", 60)
REPAIR = Kind("repair", "信用修复、约谈", 70)
OTHER = Kind("other", "其他信用信息", 90)

KINDS = (LICENSE, PENALTY, BLACKLIST, BLACKLIST_EXIT, REDLIST, JOINT_CASE, COMMITMENT, REPAIR, OTHER)

BY_CATEGORY = {
    "admin_license": LICENSE,
    "admin_penalty": PENALTY,
    "local_blacklist": BLACKLIST,
    "national_blacklist_feedback": BLACKLIST,
    "blacklist_exit": BLACKLIST_EXIT,
    "local_redlist": REDLIST,
    "joint_punishment_case": JOINT_CASE,
    "joint_incentive_case": JOINT_CASE,
    "credit_commitment": COMMITMENT,
    "credit_repair_interview": REPAIR,
}
BY_SCHEMA = {"license": LICENSE, "penalty": PENALTY}


def kind_of(category_code, schema):
    return BY_CATEGORY.get(category_code) or BY_SCHEMA.get(schema) or OTHER
