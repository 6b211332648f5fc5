"""The personal-information protection impact assessment (PIA, 个人信息保护影响评估) of the
deployment's face processing, filled from its own settings (POLICY §12; PIPL art. 55-56): what is
collected, why, where, how long, who sees it, how it is protected, and the person's rights. The
operator reviews it, writes the risk judgement and signs: the PDF leaves room for that, and says
which parts came from the settings so nobody mistakes the template for a finished assessment."""
from __future__ import annotations

from datetime import datetime

from fpdf.fonts import FontFace

from policies.clauses import describe
from server.clock import local
from server.exports.pdf import FAMILY, new_pdf

PURPOSE_WORDS = {"after_district_review": "经区县人社逐条复核通过后计入学时",
                 "on_teacher_attestation": "教师现场确认且无异常信号即计入学时"}


def pia_pdf(data: dict, notices: dict, model: str, generated_at: datetime) -> bytes:
    pdf = new_pdf("P")
    pdf.footer_prefix = ""
    pdf.running_head = "个人信息保护影响评估（人脸信息处理）· 由系统设置生成的草稿，须经处理者审核签署"
    pdf.add_page()
    pdf.set_font(FAMILY, "", 16)
    pdf.cell(0, 10, "个人信息保护影响评估报告（人脸信息）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(0, 6, f"生成时间：{local(generated_at):%Y年%m月%d日 %H:%M}（北京时间）　依据：《个人信息保护法》第五十五、五十六条；"
                   "《人脸识别技术应用安全管理办法》", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font(FAMILY, "", 12)
        pdf.multi_cell(0, 7, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 9.5)

    def para(text: str) -> None:
        # Left-aligned: justified lines of Chinese with a Latin word (JPEG, RFC 3394) open wide gaps.
        pdf.multi_cell(0, 5.5, text, align="L", new_x="LMARGIN", new_y="NEXT")

    consents = data["consents"]
    heading("一、处理目的与方式")
    para("目的：核验职业技能培训出勤的真实性（凡补必进、不进不补），防止冒名顶替、虚构学员和虚报学时骗取补贴。"
         "人脸信息仅用于出勤核验，不用于其他目的。")
    para("方式：学员在本人绑定的手机上签到、签退和接受随机抽查时拍摄一组照片（活体检测：按随机提示转头），"
         "与本人登记的人脸模板比对（1:1），并与同班学员比对（1:N）；登记人脸时与全部已登记模板比对，防止一人多号。")
    para("单独同意（按目的分别取得，可随时撤回）：")
    for notice in notices.values():
        para(f"　·{notice['title']}（告知书版本 {notice['version']}）：{notice['text']}")
    para(f"当前：{consents['face_consent_in_force']} 人同意人脸核验，{consents['face_refused_or_withdrawn']} 人拒绝或撤回，"
         f"{consents['photo_keeping_in_force']} 人同意留存签到照片。")
    para("替代方式：拒绝人脸识别的学员不被拒绝参加培训，改由教师在教室用本人设备确认其在场（同时核对课堂码和教师位置），"
         "计入学时的方式见第四部分。")

    heading("二、收集的个人信息")
    para(f"人脸照片：每次签到约 14–16 帧 JPEG；人脸模板：由照片计算的 128 维特征向量（模型 {model}），不含照片；"
         "位置：签到时的定位及精度；设备：绑定手机的设备标识；课堂码。"
         f"目前处理人脸信息的人数：{data['people_with_face_data']:,} 人。")

    heading("三、存储位置与保护措施")
    sealing = data["sealing"]
    para(f"数据库：{data['database']}；照片：服务器证据目录，按内容哈希存放。人脸模板和照片均加密保存"
         "（每个对象独立的 AES-256-GCM 数据密钥，由部署密钥 RFC 3394 封装；部署密钥不在数据库和证据目录中，"
         f"当前 {sealing['keys']} 把，可不停机轮换）。被篡改或以明文写入的数据拒绝读取。")
    if sealing["warning"]:
        para("注意：" + sealing["warning"] + "。")
    para("每次查看照片都记录在审计日志中（谁、何时、哪张）；证据事件只追加、带哈希链，任何改动可被发现。")

    heading("四、保存期限（按地区）")
    pdf.set_font(FAMILY, "", 8.5)
    # One font weight (pdf.new_pdf): the heading row is set apart by its grey fill, not bold.
    heading_style = FontFace(emphasis="", fill_color=(225, 225, 225))
    with pdf.table(col_widths=(22, 48, 56, 64), text_align="LEFT", line_height=5,
                   headings_style=heading_style) as table:
        table.row(["地区", "培训资料（含同意留存的照片）", "未同意留存的签到照片", "拒绝人脸识别者的学时"])
        for r in data["keeping"]:
            table.row([r["name"],
                       f"培训结束后 {r['evidence_years']} 年（{describe(r['evidence_clause'])}）",
                       f"复核期满即删除：课程结束或复核决定后 {r['photo_window_days']} 天（{describe(r['photo_window_clause'])}）",
                       f"{PURPOSE_WORDS.get(r['attested_check_ins'], r['attested_check_ins'])}（{describe(r['attested_clause'])}）"])
    pdf.set_font(FAMILY, "", 9.5)
    para("人脸模板保存到学员撤回人脸核验同意为止，撤回即删除并移出比对索引。")

    heading("五、可以查看的人员")
    para("可查看签到照片：" + "、".join(data["who_sees_photos"]) + "（各自仅限本人管辖范围内的培训班）；"
         "复核有疑问的签到：" + "、".join(data["who_reviews"]) + "。")

    heading("六、个人的权利")
    para("学员可查询本人被保存的人脸信息（照片数量、保存起止、被谁查看）、获取副本、撤回任一同意；"
         "请求均有记录并答复。纸质同意和撤回由培训机构登记。")

    heading("七、备案")
    filing = data["filing"]
    if filing is None:
        para(f"处理人脸信息的人数未达 {data['filing_threshold']:,} 人，暂无须向省级网信部门备案。")
    else:
        para(filing["detail"] + ("；已于 " + filing["done_at"][:10] + " 办结" if filing["done_at"] else "；尚未办结") + "。")

    heading("八、风险评估与结论（由处理者填写）")
    for _ in range(5):
        pdf.cell(0, 8, "", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 7, "评估人：________________　　审核人：________________　　处理者（盖章）：________________　　日期：____年__月__日")
    return bytes(pdf.output())
