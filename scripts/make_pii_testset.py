"""Write src/modelbook/privacy/data/pii_testset.txt: the labelled PII test set of lab `privacy`.

The sentences below were written for modelbook (Chinese and English, everyday contexts: delivery, banking,
HR, clinics, support tickets). Slots in braces are filled with synthetic values from a seeded generator, so
every identity number and card number is fake but has exactly the checksum property the slot asks for:

  {ID}       a valid GB 11643-1999 resident ID (real region code, real date, correct check character)
  {IDX}      the same, forced to end in the check character X
  {ID_TYPO}  an ID whose check character is wrong (a mistyped ID: still personal data, gold-labelled ID_CN)
  {ORDER18}  an 18-digit order / waybill number shaped like an ID but failing its checksum (not PII)
  {CARD}     a Luhn-valid bank card (UnionPay 62…, Visa 4…, Mastercard 5…), 16 or 19 digits, sometimes grouped
  {CARD_TYPO} a card number failing Luhn, in a card context (mistyped: gold-labelled BANK_CARD)
  {TRACK16}  a 16-digit tracking / membership number failing Luhn (not PII)
  {MOBILE} {LANDLINE} {USPHONE} {EMAIL}

Gold labels are written inline as [[TYPE|value]]; anything not so marked is not PII. Names are written by hand
into the sentences (common names, compound surnames, names that are also ordinary words, rare given names).
Run:  python scripts/make_pii_testset.py   (deterministic: the same file every time)
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from modelbook.privacy.pii import gb11643_check_char, luhn_valid, valid_cn_id  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src/modelbook/privacy/data/pii_testset.txt"
REGIONS = ["110101", "310104", "440305", "510107", "330106", "420111", "320102", "610113", "370202", "230103"]
R = random.Random(20240611)

ZH = """
请把快递寄给[[PERSON|张伟]]，电话{MOBILE}，谢谢。
客户[[PERSON|王芳]]的身份证号是{ID}，请核对。
联系人：[[PERSON|李娜]]，手机号码 {MOBILE}。
如有疑问请拨打客服热线{LANDLINE}或发送邮件至{EMAIL}。
您的订单号为{ORDER18}，预计三天内送达。
退款将原路返回至尾号为 5678 的银行卡。
[[PERSON|刘洋]]的工资卡号是{CARD}，下月起生效。
物流单号{TRACK16}已揽收，请留意短信通知。
患者[[PERSON|陈静]]，女，身份证{IDX}，过敏史：青霉素。
我是[[PERSON|杨磊]]，我的邮箱是{EMAIL}，有事随时联系。
会议室预订人：[[PERSON|赵敏]]，分机 8023。
[[PERSON|黄晓明]]先生，您尾号 0123 的账户于 5 月 12 日入账 1999 元。
请[[PERSON|周杰]]同学于周五前提交报名表，并附身份证复印件（{ID}）。
[[PERSON|吴刚]]的紧急联系人是他的妻子[[PERSON|孙丽]]，电话{MOBILE}。
此次活动由[[PERSON|欧阳修远]]负责，联系邮箱{EMAIL}。
[[PERSON|司马光明]]已于昨天办理离职手续，工牌编号 A-20931。
感谢[[PERSON|高山]]和[[PERSON|林立]]两位老师的指导。
[[PERSON|白雪]]今天没来上班，她的手机{MOBILE}一直关机。
户主[[PERSON|江海]]，身份证号码：{ID}，住址：杭州市西湖区。
收款人：[[PERSON|方圆]]；开户行：招商银行；卡号：{CARD}。
请将发票寄到北京市海淀区中关村大街 27 号，收件人[[PERSON|石磊]]，{MOBILE}。
报销单上[[PERSON|郭靖]]填写的身份证号{ID_TYPO}与系统记录不一致，请重新核对。
转账失败：卡号{CARD_TYPO}校验未通过，请[[PERSON|马超]]重新输入。
本书 ISBN 为 978-7-111-54742-6，定价 89 元。
2023 年全国高考报名人数达到 1291 万人。
公司座机 {LANDLINE}，传真 {LANDLINE}，工作日 9:00-18:00 接听。
[[PERSON|何雯娜]]和[[PERSON|邓超]]报名参加了马拉松比赛。
老板[[PERSON|曹操]]让秘书把合同寄到上海。
[[PERSON|韩梅梅]]给[[PERSON|李雷]]发了一封邮件：{EMAIL}。
[[PERSON|诸葛明]]的银行卡{CARD}已挂失。
我叫[[PERSON|谢晓峰]]，身份证{ID}，手机{MOBILE}，想办理宽带。
这个月的水费账单编号是{ORDER18}。
请联系[[PERSON|钱学森]]研究所的办公室：{LANDLINE}。
[[PERSON|冯晓刚]]的简历里留的邮箱是{EMAIL}，电话{MOBILE}。
会员卡号{TRACK16}，积分 3200 分，可兑换礼品。
学生[[PERSON|蒋欣然]]的家长[[PERSON|蒋国栋]]电话{MOBILE}。
司机[[PERSON|熊大伟]]车牌号京A12345，明早八点到。
[[PERSON|于小彤]]的社保卡号与身份证号{ID}相同。
开票信息：纳税人识别号 91110108MA01ABCD2X，联系人[[PERSON|贺敏]]。
请[[PERSON|梁静茹]]在 {LANDLINE} 这个号码上回电。
验证码 482913，五分钟内有效，请勿泄露。
[[PERSON|袁隆平]]院士的故事激励了很多人。
[[PERSON|田甜]]说她的新号码是{MOBILE}，旧号码{MOBILE}停用了。
账户{CARD}本月消费 4,350.00 元，最低还款 435.00 元。
[[PERSON|宋佳]]的邮箱{EMAIL}已经满了，发不进去。
快递员[[PERSON|廖凡]]打电话{MOBILE}说包裹放在门卫室。
[[PERSON|金星]]和[[PERSON|王小帅]]一起去了医院，挂号单号{ORDER18}。
报名表：姓名[[PERSON|罗志祥]]，证件号{IDX}，联系方式{MOBILE}。
[[PERSON|唐嫣]]的护照在机场丢失，已经报警。
请把发票抬头改成“北京字节跳动科技有限公司”，税号另行发送。
[[PERSON|付笛生]]的银行卡号是{CARD}，开户地在成都。
[[PERSON|韦小宝]]在群里发了他的微信号 wxb_1688，不是手机号。
退货地址：深圳市南山区科技园，联系人[[PERSON|陆毅]]，座机{LANDLINE}。
[[PERSON|潘长江]]通过身份证{ID_TYPO}办理了入住，前台提示号码有误。
[[PERSON|夏雨]]把卡号{CARD_TYPO}告诉了客服，但系统显示无效。
请尽快把[[PERSON|贾玲]]的合同扫描件发到{EMAIL}。
工号 20190347 的员工[[PERSON|柯蓝]]请假三天。
[[PERSON|范冰冰]]的经纪人电话是{MOBILE}。
项目经理[[PERSON|牛犇]]已经把预算表发到了{EMAIL}。
[[PERSON|秦岚]]和[[PERSON|段奕宏]]在北京见面，讨论了新剧本。
家庭住址与身份证{ID}上的一致，户主[[PERSON|车晓]]。
请在 2024-06-30 前缴纳保险费 2,380 元，保单号{TRACK16}。
[[PERSON|步惊云]]留下的联系方式是{USPHONE}，他在美国读书。
[[PERSON|欧阳娜娜]]的母亲[[PERSON|傅丽莎]]的手机号{MOBILE}。
体检报告已发送至{EMAIL}，如有异常请联系[[PERSON|甄子丹]]医生。
[[PERSON|艾伦]]把身份证号{ID}写在了表格的备注栏。
[[PERSON|安以轩]]的新银行卡号为{CARD}，旧卡已注销。
"""

EN = """
Please send the parcel to [[PERSON|John Smith]], phone {USPHONE}.
[[PERSON|Sarah Johnson]]'s card number {CARD} was reported stolen on Monday.
Dear [[PERSON|Priya Raman]], your appointment is confirmed for 3 pm.
Contact our support team at {EMAIL} or call {USPHONE}.
Your order {ORDER18} has shipped and will arrive within 5 business days.
Dr. [[PERSON|Oluwaseun Adeyemi]] will see the patient in room 214.
My name is [[PERSON|Hiroshi Tanaka]] and my email is {EMAIL}.
The meeting with [[PERSON|Emily Chen]] moved to Friday.
Tracking number {TRACK16} is out for delivery.
[[PERSON|Michael Brown]] paid with card {CARD} at 10:42.
Mr. [[PERSON|Wang]] asked us to call him back at {MOBILE}.
Please update [[PERSON|David Miller]]'s address to 221B Baker Street, London.
The invoice total is $1,299.00, due by 30 June 2024.
Signed [[PERSON|Laura Martinez]], HR Manager.
Employee ID 4471, [[PERSON|Kevin Park]], joined on 2019-03-04.
You can reach [[PERSON|Chidi Okafor]] on {USPHONE} after 6 pm.
Ms. [[PERSON|Olivia Bennett]] forwarded the contract to {EMAIL}.
Call the London office on [[PHONE|+44 20 7946 0958]] for visa questions.
[[PERSON|Anna]] said the Wi-Fi password is on the fridge.
[[PERSON|Thomas]] and [[PERSON|Grace]] will present the quarterly results.
Grace period for the payment ends on Friday.
Apple released a new iPhone in September.
We flew from New York to Jordan last spring.
[[PERSON|Will]] told me he will not attend the party.
The customer's Chinese ID {ID} was used to open the account.
Her resident ID {IDX} appears on the rental agreement.
Card {CARD_TYPO} was declined because the number is invalid, [[PERSON|Mark]] said.
ID number {ID_TYPO} on the form does not match the database.
Version 2.14.3 fixes a crash reported by [[PERSON|Daniel Lee]].
The ISBN of the second edition is 978-0-262-03384-8.
[[PERSON|Fatima Al-Sayed]] works in the Dubai office; her number is [[PHONE|+971 4 123 4567]].
This is [[PERSON|Rebecca Stone]] from the bank; please confirm card {CARD}.
Wire the deposit from account {CARD} before noon, [[PERSON|Peter]].
[[PERSON|Zhang Wei]] uploaded the report at 9:15.
The patient, [[PERSON|Maria Garcia]], 54, reports chest pain.
Order {ORDER18} was cancelled at the customer's request.
Write to [[PERSON|Jessica]] at {EMAIL} if the link expires.
[[PERSON|James O'Connor]] called from {USPHONE} about the refund.
Membership number {TRACK16} expires next month.
It's [[PERSON|Carlos Mendes]] again; my phone is {USPHONE}.
The Amazon rainforest covers 5.5 million square kilometres.
[[PERSON|Yuki Sato]] booked two seats for 14 July.
Send the signed NDA to legal@{DOMAIN} by Thursday.
[[PERSON|Benjamin Clark]] and [[PERSON|Sophie Turner]] reviewed the draft.
Room 1204, building 7, was booked by [[PERSON|Nadia Petrova]].
Please charge my Visa {CARD} for the annual plan.
The server at 10.0.0.12 restarted twice last night.
Call me on {MOBILE} when you land in Beijing, [[PERSON|Lisa]].
Professor [[PERSON|Amara Nwosu]] gave the keynote.
[[PERSON|Robert]] lost his wallet with card {CARD} inside.
A refund of 45.90 EUR was issued on 12/03/2024.
[[PERSON|Helen Zhao]] changed her email to {EMAIL}.
Reference 20240611-7781 was attached to the ticket.
[[PERSON|George Harris]]'s mobile is {USPHONE}, not the landline.
Customer [[PERSON|Ahmed Hassan]] disputed a charge on card {CARD}.
My colleague [[PERSON|Lucas Moreau]] is on leave until Monday.
The parcel for [[PERSON|Ingrid Larsen]] was left with a neighbour.
Thanks, [[PERSON|Chris]] - ping me at {EMAIL}.
"""


def _id(force_x: bool = False, typo: bool = False) -> str:
    while True:
        region = R.choice(REGIONS)
        born = f"{R.randint(1950, 2005)}{R.randint(1, 12):02d}{R.randint(1, 28):02d}"
        first17 = region + born + f"{R.randint(0, 999):03d}"
        check = gb11643_check_char(first17)
        if force_x and check != "X":
            continue
        if typo:
            check = R.choice([c for c in "0123456789X" if c != check])
        return first17 + check


def _order18() -> str:
    while True:  # shaped like an ID (a date in the middle) but failing the checksum or the region code
        s = _id(typo=True)
        if not valid_cn_id(s):
            return s


def _luhn_complete(prefix_and_body: str) -> str:
    for d in "0123456789":
        if luhn_valid(prefix_and_body + d):
            return prefix_and_body + d
    raise AssertionError


def _card(typo: bool = False) -> str:
    prefix, length = R.choice([("6222", 16), ("6217", 19), ("4", 16), ("5", 16), ("6228", 19)])
    if prefix == "5":
        prefix += str(R.randint(1, 5))
    body = prefix + "".join(str(R.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    number = _luhn_complete(body)
    if typo:
        last = int(number[-1])
        number = number[:-1] + str((last + R.randint(1, 9)) % 10)
        assert not luhn_valid(number)
    if length == 16 and R.random() < 0.5:
        sep = R.choice([" ", "-"])
        number = sep.join(number[i:i + 4] for i in range(0, 16, 4))
    return number


def _track16() -> str:
    while True:
        n = "".join(str(R.randint(0, 9)) for _ in range(16))
        if not luhn_valid(n) and n[0] != "0":
            return n


def _mobile() -> str:
    n = R.choice(["13", "15", "18", "17", "19"]) + str(R.randint(0, 9)) + f"{R.randint(0, 99999999):08d}"
    style = R.choice(["plain", "plain", "space", "dash", "+86"])
    if style == "space":
        return f"{n[:3]} {n[3:7]} {n[7:]}"
    if style == "dash":
        return f"{n[:3]}-{n[3:7]}-{n[7:]}"
    if style == "+86":
        return f"+86 {n}"
    return n


def _landline() -> str:
    area = R.choice(["010", "021", "0755", "028", "0571"])
    local = f"{R.randint(2, 8)}{R.randint(0, 9999999):07d}" if len(area) == 3 else f"{R.randint(2, 8)}{R.randint(0, 999999):06d}{R.randint(0, 9)}"
    return R.choice([f"{area}-{local}", f"({area}) {local}", f"{area}-{local[:4]} {local[4:]}"])


def _usphone() -> str:
    a, b, c = R.randint(201, 989), R.randint(200, 999), R.randint(0, 9999)
    return R.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}"])


def _email() -> str:
    user = R.choice(["zhang.wei", "lina88", "support", "j.smith", "wang_fang2020", "hr-team", "k.park", "li.na+bank"])
    domain = R.choice(["example.com", "example.cn", "mail.example.org", "corp.example.com.cn"])
    return f"{user}@{domain}"


FILLERS = {
    "ID": lambda: f"[[ID_CN|{_id()}]]", "IDX": lambda: f"[[ID_CN|{_id(force_x=True)}]]",
    "ID_TYPO": lambda: f"[[ID_CN|{_id(typo=True)}]]", "ORDER18": _order18,
    "CARD": lambda: f"[[BANK_CARD|{_card()}]]", "CARD_TYPO": lambda: f"[[BANK_CARD|{_card(typo=True)}]]",
    "TRACK16": _track16, "MOBILE": lambda: f"[[PHONE|{_mobile()}]]", "LANDLINE": lambda: f"[[PHONE|{_landline()}]]",
    "USPHONE": lambda: f"[[PHONE|{_usphone()}]]", "EMAIL": lambda: f"[[EMAIL|{_email()}]]",
    "DOMAIN": lambda: "example.com",
}


def fill(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        if line[i] == "{" and "}" in line[i:]:
            j = line.index("}", i)
            out.append(FILLERS[line[i + 1:j]]())
            i = j + 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def main() -> None:
    lines = ["# Labelled PII test set of modelbook lab `privacy` (synthetic values; see scripts/make_pii_testset.py).",
             "# Format: <lang>TAB<sentence>, gold PII written inline as [[TYPE|value]]. Everything else is not PII."]
    for lang, block in (("zh", ZH), ("en", EN)):
        for sentence in block.strip().splitlines():
            filled = fill(sentence)
            if "legal@example.com" in filled:  # the one e-mail written by hand
                filled = filled.replace("legal@example.com", "[[EMAIL|legal@example.com]]")
            lines.append(f"{lang}\t{filled}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 2} sentences to {OUT}")


if __name__ == "__main__":
    main()
