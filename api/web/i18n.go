package web

// messages are the interface's words, Chinese first (the default) and
// English. Templates look them up with {{$.T "key"}}; the scripts get the
// same table as JSON data in the page. A key missing from a language falls
// back to Chinese, and a missing key shows itself, so a gap is visible.
var messages = map[string]map[string]string{
	"zh": {
		"app": "listinggen 审核台", "nav.queue": "审核队列", "nav.import": "导入商品", "nav.signout": "退出",
		"lang.other": "English", "lang.other.code": "en",
		"queue.title": "审核队列", "queue.empty": "没有符合条件的商品。", "queue.next": "下一页", "queue.first": "第一页",
		"queue.keys":  "快捷键：j/k 上下移动，x 选中，a 通过，r 驳回，e 编辑，回车 打开",
		"filter.shop": "店铺", "filter.platform": "平台", "filter.status": "状态", "filter.verdict": "查重",
		"filter.compliance": "合规", "filter.any": "全部", "filter.apply": "筛选", "filter.problems": "有阻断问题",
		"filter.ok": "无阻断问题", "filter.job": "批量任务",
		"col.title": "标题", "col.shop": "店铺", "col.platform": "平台", "col.status": "状态", "col.verdict": "查重",
		"col.compliance": "合规", "col.images": "图片", "col.updated": "更新时间",
		"bulk.approve": "批量通过", "bulk.reject": "批量驳回", "bulk.selected": "已选", "bulk.all": "全选",
		"status.draft": "草稿", "status.needs_review": "待人工审核", "status.approved": "已通过", "status.rejected": "已驳回",
		"verdict.unique": "唯一", "verdict.similar": "相似", "verdict.duplicate": "重复",
		"compliance.ok": "通过", "compliance.problems": "个问题",
		"listing.source": "货源原文", "listing.generated": "生成文案", "listing.title": "标题",
		"listing.selling_points": "卖点", "listing.description": "详情", "listing.keywords": "关键词",
		"listing.attributes": "属性", "listing.category": "类目", "listing.price": "价格", "listing.brand": "品牌",
		"listing.violations": "合规问题", "listing.no_violations": "没有合规问题。", "listing.rule": "规则",
		"listing.suggestion": "建议", "listing.term": "词", "listing.field": "位置", "listing.severity": "级别",
		"listing.repaired": "自动修正", "listing.reasons": "需人工审核的原因", "listing.images": "图片",
		"listing.image_errors": "图片错误", "listing.variant": "规格", "listing.size": "尺寸", "listing.bytes": "字节",
		"listing.dedup": "查重", "listing.matches": "相似商品", "listing.score": "相似度", "listing.text_score": "文本相似度", "listing.kind": "依据",
		"listing.scope": "范围", "listing.no_matches": "没有相似商品。", "listing.provenance": "生成信息",
		"listing.rewriter": "改写器", "listing.model": "模型", "listing.prompt": "提示词版本", "listing.tokens": "用量(输入/输出 token)",
		"listing.cost": "成本(美元)", "listing.embedder": "向量模型", "listing.edited_by": "编辑者", "listing.version": "版本",
		"listing.edit": "编辑 (e)", "listing.save": "保存", "listing.cancel": "取消", "listing.approve": "通过 (a)",
		"listing.reject": "驳回 (r)", "listing.regenerate": "重新生成", "listing.units": "长度", "listing.limit": "上限",
		"listing.checking": "检查中…", "listing.checked": "已实时检查", "listing.stream": "模型输出",
		"listing.back": "返回队列", "listing.changes": "绿色为新增，删除线为去掉的原文", "listing.one_per_line": "每行一个卖点",
		"listing.open": "打开", "listing.shop": "店铺", "listing.status": "状态", "listing.legend": "图例",
		"import.title": "导入商品", "import.shops": "选择店铺", "import.no_shops": "还没有店铺，请先创建。",
		"import.new_shop": "新建店铺", "import.name": "名称", "import.group": "店群", "import.create": "创建店铺",
		"import.products": "商品（每行一个 JSON，或 JSON 数组）", "import.file": "选择文件 (.jsonl / .json)",
		"import.sample": "载入示例商品库 (300 个)", "import.generate": "生成文案", "import.progress": "进度",
		"import.done": "完成", "import.errors": "错误", "import.line": "第", "import.line_suffix": "行",
		"import.pick_shop": "请至少选择一个店铺。", "import.no_products": "没有商品。",
		"jobs.todo":    "批量任务视图尚未完成：任务接口合并后再接入（见 README）。",
		"signin.title": "登录", "signin.key": "API 密钥", "signin.submit": "登录", "signin.failed": "密钥无效或已吊销。",
		"err.blocked": "有阻断性合规问题，不能通过", "err.conflict": "已被他人修改，请刷新", "err.failed": "失败",
		"ok.saved": "已保存", "ok.approved": "已通过", "ok.rejected": "已驳回",
	},
	"en": {
		"app": "listinggen review", "nav.queue": "Review queue", "nav.import": "Import products", "nav.signout": "Sign out",
		"lang.other": "中文", "lang.other.code": "zh",
		"queue.title": "Review queue", "queue.empty": "No listings match.", "queue.next": "Next page", "queue.first": "First page",
		"queue.keys":  "Keys: j/k move, x select, a approve, r reject, e edit, Enter open",
		"filter.shop": "Shop", "filter.platform": "Platform", "filter.status": "Status", "filter.verdict": "Dedup",
		"filter.compliance": "Compliance", "filter.any": "Any", "filter.apply": "Filter", "filter.problems": "Blocking problems",
		"filter.ok": "No blocking problems", "filter.job": "Batch job",
		"col.title": "Title", "col.shop": "Shop", "col.platform": "Platform", "col.status": "Status", "col.verdict": "Dedup",
		"col.compliance": "Compliance", "col.images": "Images", "col.updated": "Updated",
		"bulk.approve": "Approve selected", "bulk.reject": "Reject selected", "bulk.selected": "Selected", "bulk.all": "Select all",
		"status.draft": "Draft", "status.needs_review": "Needs review", "status.approved": "Approved", "status.rejected": "Rejected",
		"verdict.unique": "Unique", "verdict.similar": "Similar", "verdict.duplicate": "Duplicate",
		"compliance.ok": "OK", "compliance.problems": "problems",
		"listing.source": "Source", "listing.generated": "Generated", "listing.title": "Title",
		"listing.selling_points": "Selling points", "listing.description": "Description", "listing.keywords": "Keywords",
		"listing.attributes": "Attributes", "listing.category": "Category", "listing.price": "Price", "listing.brand": "Brand",
		"listing.violations": "Compliance problems", "listing.no_violations": "No compliance problems.", "listing.rule": "Rule",
		"listing.suggestion": "Suggestion", "listing.term": "Term", "listing.field": "Field", "listing.severity": "Severity",
		"listing.repaired": "Repaired automatically", "listing.reasons": "Why it needs review", "listing.images": "Images",
		"listing.image_errors": "Image errors", "listing.variant": "Variant", "listing.size": "Size", "listing.bytes": "Bytes",
		"listing.dedup": "Duplicates", "listing.matches": "Similar listings", "listing.score": "Score", "listing.text_score": "Text score", "listing.kind": "Evidence",
		"listing.scope": "Scope", "listing.no_matches": "No similar listings.", "listing.provenance": "Provenance",
		"listing.rewriter": "Rewriter", "listing.model": "Model", "listing.prompt": "Prompt version", "listing.tokens": "Tokens (prompt/completion)",
		"listing.cost": "Cost (USD)", "listing.embedder": "Embedder", "listing.edited_by": "Edited by", "listing.version": "Version",
		"listing.edit": "Edit (e)", "listing.save": "Save", "listing.cancel": "Cancel", "listing.approve": "Approve (a)",
		"listing.reject": "Reject (r)", "listing.regenerate": "Regenerate", "listing.units": "Length", "listing.limit": "limit",
		"listing.checking": "Checking…", "listing.checked": "Checked live", "listing.stream": "Model output",
		"listing.back": "Back to queue", "listing.changes": "green: added; struck through: dropped from the source", "listing.one_per_line": "one selling point per line",
		"listing.open": "Open", "listing.shop": "Shop", "listing.status": "Status", "listing.legend": "Legend",
		"import.title": "Import products", "import.shops": "Shops", "import.no_shops": "No shops yet: create one first.",
		"import.new_shop": "New shop", "import.name": "Name", "import.group": "Shop group", "import.create": "Create shop",
		"import.products": "Products (one JSON object a line, or a JSON array)", "import.file": "Choose a file (.jsonl / .json)",
		"import.sample": "Load the sample catalogue (300 products)", "import.generate": "Generate", "import.progress": "Progress",
		"import.done": "Done", "import.errors": "Errors", "import.line": "line", "import.line_suffix": "",
		"import.pick_shop": "Choose at least one shop.", "import.no_products": "No products.",
		"jobs.todo":    "The batch job view is not built yet: it will use the jobs API once that is merged (see README).",
		"signin.title": "Sign in", "signin.key": "API key", "signin.submit": "Sign in", "signin.failed": "Unknown or revoked key.",
		"err.blocked": "breaks a blocking rule: cannot approve", "err.conflict": "changed by someone else: reload", "err.failed": "failed",
		"ok.saved": "Saved", "ok.approved": "Approved", "ok.rejected": "Rejected",
	},
}

// translate looks key up in lang, then in Chinese.
func translate(lang, key string) string {
	if s, ok := messages[lang][key]; ok {
		return s
	}
	if s, ok := messages["zh"][key]; ok {
		return s
	}
	return key
}
