"""Reasons: the "why" attached to every face decision.

Every decision in this package carries ``reasons: tuple[Reason, ...]``. ``code`` is stable and
meant for the API and for audit queries; ``message`` is Chinese and meant for the trainee's phone
page (it says what was wrong *and* what to do); ``detail`` is a short English/numeric note for an
auditor ("face width 42 px < 60 px"). Details never contain image bytes or encodings.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Chinese messages for the phone page, keyed by stable code.
MESSAGES: dict[str, str] = {
    # image decoding
    "empty": "没有收到图片，请重新拍照",
    "not_an_image": "上传的文件不是图片，请重新拍照",
    "unsupported_format": "图片格式不支持，请使用 JPEG、PNG 或 WebP 格式",
    "truncated": "图片不完整或已损坏，请重新拍照上传",
    "too_large": "图片文件过大，请降低分辨率后重新上传",
    "too_many_pixels": "图片分辨率过高，请降低分辨率后重新上传",
    # quality gate
    "no_face": "未检测到人脸，请正对摄像头并保证光线充足",
    "multiple_faces": "画面中有多张人脸，请确保只有本人在镜头前",
    "face_too_small": "人脸太小，请靠近摄像头，让脸部占满取景框",
    "too_blurry": "照片模糊，请保持手机稳定并擦拭镜头后重拍",
    "too_dark": "光线太暗，请到明亮处或打开灯光后重拍",
    "too_bright": "光线太强或逆光，请避开强光直射后重拍",
    "face_turned": "脸部偏转过大，请正对摄像头",
    # enrollment and verification
    "wrong_photo_count": "请上传 1 到 5 张本人正面照片",
    "photos_disagree": "几张照片中的人脸不一致，请全部使用本人照片",
    "model_mismatch": "人脸模板版本与当前识别模型不一致，请重新采集人脸",
    "face_mismatch": "人脸与登记照片不一致，请本人签到",
    "face_uncertain": "人脸与登记照片相似度不足以自动确认，本次记录将由人工复核",
    "face_closer_to_other": "人脸与本账号登记的人脸不符，请本人用自己的账号签到",
    "face_near_other": "人脸与其他已登记学员也很相似，本次记录将由人工复核",
    "identity_changed_in_burst": "动作过程中出现了不同的人脸，请本人独自完成全部动作",
    "matched": "人脸核验通过",
    # liveness
    "challenge_expired": "动作验证已超时，请重新开始",
    "too_few_frames": "采集的画面太少，请按提示完成动作",
    "too_many_frames": "采集的画面过多，请重新开始",
    "burst_too_long": "动作完成时间过长，请重新开始",
    "face_missing_in_frames": "动作过程中多次未检测到人脸，请保持脸部在取景框内",
    "frames_identical": "画面没有变化，请本人面对摄像头按提示完成动作",
    "identity_not_confirmed": "动作过程中未能确认是本人，请本人完成动作",
    "motion_not_seen": "未检测到要求的动作，请按提示顺序完成动作",
    "unexpected_motion": "检测到未要求的动作，请只按提示完成动作",
    "capture_times_missing": "没有收到每帧画面的拍摄时间，请更新页面（刷新）后重新开始",
    "frames_out_of_order": "画面的拍摄时间顺序不对，请刷新页面后重新开始",
    "capture_gap": "画面之间间隔过长（手机卡顿或切换了应用），请停留在本页面重新开始",
    "burst_before_challenge": "画面拍摄时间早于动作提示，请刷新页面后重新开始",
    "burst_ended_early": "最后一个动作还没做完画面就结束了，请重新开始并做完全部动作",
    "motion_not_when_prompted": "动作没有在提示出现后完成，请看到每个提示后再做对应动作",
    "burst_discontinuous": "画面中的脸突然跳动或画面被切换，请保持手机稳定，本人连续完成动作",
    "face_flat": "转头时脸部没有立体变化，疑似对着照片或屏幕拍摄，请本人面对摄像头重新开始",
    "frames_mirrored": "画面是左右镜像的，请关闭镜像或美颜相机，直接用本页面拍摄",
    "liveness_passed": "活体检测通过",
    "liveness_error": "活体检测出错，请重试",
    # injection signals: never decide alone, a person reviews
    "frames_mixed_encoders": "本次画面来自不同的图像编码方式，疑似注入画面，需人工复核",
    "capture_times_regular": "画面拍摄时间间隔完全一致，疑似程序生成，需人工复核",
    # group photo
    "group_no_faces": "合影中未检测到人脸，请重新拍摄清晰的合影",
}


@dataclass(frozen=True)
class Reason:
    """One reason behind a decision: stable ``code``, Chinese ``message``, auditor ``detail``."""

    code: str
    message: str
    detail: str = ""


def reasons_evidence(reasons: tuple[Reason, ...]) -> list[dict[str, str]]:
    """Reasons as plain dicts for an evidence record."""
    return [{"code": r.code, "message": r.message, "detail": r.detail} for r in reasons]


def reason(code: str, detail: str = "") -> Reason:
    """Build a Reason with the catalogued Chinese message for ``code``."""
    return Reason(code=code, message=MESSAGES[code], detail=detail)
