package compliance_test

import (
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

// matchCases is written from real listing language: each case gives the
// text and the spans (as the seller wrote them) that must be flagged, in
// order. An empty want means nothing may be flagged.
var matchCases = []struct {
	text string
	want []string
}{
	// advertising law art. 9(3): absolute terms
	{"国家级品质保温杯", []string{"国家级"}},
	{"世界级工艺 手工编织", []string{"世界级"}},
	{"最高级面料 真丝睡衣", []string{"最高级"}},
	{"今夏最佳连衣裙", []string{"最佳"}},
	{"最好用的化妆刷", []string{"最好用"}},
	{"性价比最好 耳机", []string{"最好"}},
	{"全网最低价 手机壳", []string{"全网最低价"}},
	{"最低价促销", []string{"最低价"}},
	{"同类最便宜", []string{"最便宜"}},
	{"最强续航蓝牙耳机", []string{"最强"}},
	{"销量第一的保温杯", []string{"销量第一"}},
	{"全网第一 爆款", []string{"全网第一"}},
	{"全国第一 老字号", []string{"全国第一"}},
	{"第一品牌 运动鞋", []string{"第一品牌"}},
	{"行业第一", []string{"第一"}},
	{"顶级真皮钱包", []string{"顶级"}},
	{"极品大红袍茶杯", []string{"极品"}},
	{"极致轻薄 手机壳", []string{"极致"}},
	{"史无前例的优惠", []string{"史无前例"}},
	{"前无古人的设计", []string{"前无古人"}},
	{"万能充电线", nil},
	{"万能清洁剂", []string{"万能"}},
	{"独一无二的礼物", []string{"独一无二"}},
	{"绝无仅有 限量", []string{"绝无仅有"}},
	{"唯一指定款", []string{"唯一"}},
	{"王牌产品 耳机", []string{"王牌"}},
	{"领导品牌 收纳盒", []string{"领导品牌"}},
	{"金牌销量 四件套", []string{"金牌"}},
	{"首个石墨烯加热 护腰", []string{"首个"}},
	{"送礼首选 茶具", []string{"首选"}},
	{"NO.1 运动耳机", []string{"NO.1"}},
	{"no.1 爆款", []string{"no.1"}},
	{"TOP1 收纳盒", []string{"TOP1"}},
	{"最先进的降噪", []string{"最先进"}},
	{"最时尚的款式", []string{"最时尚"}},
	{"最受欢迎 颜色", []string{"最受欢迎"}},
	{"最新款 手机壳", []string{"最新款"}},
	{"最高 可调节 办公椅", []string{"最高"}},
	// false claims
	{"100%纯天然 蚕丝被", []string{"100%纯天然"}},
	{"纯天然 乳胶枕", []string{"纯天然"}},
	{"零风险 试用", []string{"零风险"}},
	{"永不褪色 T恤", []string{"永不"}},
	// medical and efficacy claims on ordinary goods
	{"治疗颈椎 枕头", []string{"治疗"}},
	{"抗癌 养生杯", []string{"抗癌"}},
	{"防癌 锅具", []string{"防癌"}},
	{"药用级 硅胶", []string{"药用"}},
	{"祛痘 洗脸巾", []string{"祛痘"}},
	{"消炎 护膝", []string{"消炎"}},
	{"杀菌 砧板", []string{"杀菌"}},
	{"降血压 手环", []string{"降血压"}},
	{"降血糖 茶杯", []string{"降血糖"}},
	{"包治百病", []string{"包治"}},
	{"根治脚气 鞋垫", []string{"根治"}},
	// superstition
	{"开光貔貅手链", []string{"开光"}},
	{"招财猫 摆件", []string{"招财"}},
	{"转运珠 手链", []string{"转运"}},
	{"辟邪 挂件", []string{"辟邪"}},
	{"旺夫 耳环", []string{"旺夫"}},
	{"保平安 车挂", []string{"保平安"}},
	// supplier jargon
	{"连衣裙 一件代发", []string{"一件代发"}},
	{"厂家直销 保温杯", []string{"厂家直销"}},
	{"厂家直供 数据线", []string{"厂家直供"}},
	{"批发 耳环", []string{"批发"}},
	{"工厂价 积木", []string{"工厂价"}},
	{"出厂价 猫抓板", []string{"出厂价"}},
	{"源头工厂 折叠椅", []string{"源头工厂"}},
	{"源头厂家 硅胶铲", []string{"源头厂家"}},
	{"现货速发 四件套", []string{"现货速发"}},
	{"现货批发 T恤", []string{"现货批发"}},
	{"跨境专供 手机壳", []string{"跨境专供"}},
	{"跨境 热卖", []string{"跨境"}},
	{"义乌货源 耳钉", []string{"义乌货源"}},
	{"优质货源", []string{"货源"}},
	{"支持代发", []string{"代发"}},
	{"支持定制 收纳盒", []string{"支持定制"}},
	{"来图定制 T恤", []string{"来图定制"}},
	{"量大从优", []string{"量大从优"}},
	{"混批 饰品", []string{"混批"}},
	{"10件起批", []string{"起批"}},
	// traffic diversion
	{"加微信领券", []string{"微信"}},
	{"加V有惊喜", []string{"加V"}},
	{"加v咨询", []string{"加v"}},
	{"VX同款", []string{"VX"}},
	{"联系vx", []string{"vx"}},
	{"QQ群专享", []string{"QQ"}},
	{"联系QQ123456", []string{"QQ"}},
	{"淘宝同款", []string{"淘宝"}},
	{"拼多多爆款", []string{"拼多多"}},
	{"京东同款", []string{"京东"}},
	{"抖音爆款", []string{"抖音"}},
	// unauthorised brands, and compatibility wording that is allowed
	{"华为同款 蓝牙耳机", []string{"华为"}},
	{"耐克 运动鞋 男款", []string{"耐克"}},
	{"Nike Air 气垫鞋", []string{"Nike"}},
	{"乐高 积木 城堡", []string{"乐高"}},
	{"适用华为 数据线 6A", nil},
	{"兼容乐高 大颗粒积木", nil},
	{"适配三星 手机壳", nil},
	{"pineapple 图案 T恤", nil},
	{"Apple Watch 表带", []string{"Apple"}},
	// evasion: inserted spaces, punctuation, zero-width characters, emoji
	{"最 好 的保温杯", []string{"最 好"}},
	{"第-一品牌", []string{"第-一品牌"}},
	{"顶\u200b级 面料", []string{"顶\u200b级"}},
	{"极·品 茶具", []string{"极·品"}},
	{"一 件 代 发", []string{"一 件 代 发"}},
	{"厂🔥家🔥直🔥销", []string{"厂🔥家🔥直🔥销"}},
	{"微 信 联系", []string{"微 信"}},
	{"国\ufeff家\u2060级", []string{"国\ufeff家\u2060级"}},
	{"全/网/最/低/价", []string{"全/网/最/低/价"}},
	{"史-无-前-例", []string{"史-无-前-例"}},
	{"Q Q 联系", []string{"Q Q"}},
	// full-width and case variants
	{"ＮＯ．１ 耳机", []string{"ＮＯ．１"}},
	{"ｑｑ联系", []string{"ｑｑ"}},
	{"ＴＯＰ１ 爆款", []string{"ＴＯＰ１"}},
	{"Ｖｘ 同款", []string{"Ｖｘ"}},
	{"top1 保温杯", []string{"top1"}},
	// allow-list negatives: words that contain a banned substring
	{"最近很火的连衣裙", nil},
	{"最后一件 清仓", nil},
	{"最初的设计", nil},
	{"最终版 收纳盒", nil},
	{"最早上市", nil},
	{"第一次穿就爱上", nil},
	{"第一步 安装简单", nil},
	{"第一天 到货", nil},
	{"第一层 放杯子", nil},
	{"第一代 升级款", nil},
	{"第一排 座椅套", nil},
	{"第一眼就心动", nil},
	{"第一口 好茶", nil},
	{"万能胶 强力", nil},
	{"万能表 数字", nil},
	{"万能充", nil},
	{"万能轮 行李箱", nil},
	{"最大承重150kg 折叠椅", nil},
	{"最大容量 1000ml", nil},
	{"最高温度 200度 硅胶铲", nil},
	{"最大功率 120W", nil},
	{"最高可达 50小时续航", nil},
	{"最大支持 2TB", nil},
	{"首选项 设置", nil},
	{"唯一码 防伪", nil},
	{"不治疗 仅护理", nil},
	// word boundaries for Latin terms
	{"QQQ星 儿童手表", nil},
	{"VXE3000 鼠标", nil},
	{"vxe 游戏手柄", nil},
	{"iPhone VX 同款", []string{"VX"}},
	{"STOP1 停车牌", nil},
	{"laptop1 支架", nil},
	{"nO.1ne 品牌", nil},
	// mixed Chinese and English, several terms, order kept
	{"iPhone15ProMax 手机壳 第一品牌 一件代发 QQ联系", []string{"第一品牌", "一件代发", "QQ"}},
	{"Type-C 快充 120W 数据线 厂家直销", []string{"厂家直销"}},
	{"ins风 法式 连衣裙 最佳 选择 微信", []string{"最佳", "微信"}},
	// clean listing language
	{"法式复古碎花连衣裙女收腰显瘦气质长裙", nil},
	{"316不锈钢保温杯大容量男女学生水杯", nil},
	{"蓝牙耳机入耳式降噪超长续航", nil},
	{"儿童积木拼装益智玩具大颗粒3-6岁", nil},
	{"POLO衫 冰丝 短袖 翻领 商务", nil},
	{"", nil},
	{"   ", nil},
	{"。，！", nil},
}

func TestMatcherCases(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	if len(matchCases) < 150 {
		t.Fatalf("only %d cases", len(matchCases))
	}
	for _, tc := range matchCases {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			vs := c.FindTerms("title", tc.text)
			if got := strings.Join(terms(vs), "|"); got != strings.Join(tc.want, "|") {
				t.Fatalf("FindTerms(%q) = %q, want %q", tc.text, got, strings.Join(tc.want, "|"))
			}
			runes := []rune(tc.text)
			for _, v := range vs {
				if string(runes[v.Start:v.End]) != v.Term || v.Rule == "" || v.Category == "" {
					t.Errorf("violation %+v: span %d-%d is %q", v, v.Start, v.End, string(runes[v.Start:v.End]))
				}
			}
		})
	}
}

// Title limits: exactly at the limit, one under and one over, per platform,
// with CJK counting 2 and ASCII 1.
func TestTitleLimitsPerPlatform(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	for _, p := range listinggen.Platforms {
		limit := c.Rules(p).TitleMaxUnits
		cjk := limit / 2
		cases := []struct {
			title string
			ok    bool
		}{
			{strings.Repeat("裙", cjk), true},
			{strings.Repeat("裙", cjk-1), true},
			{strings.Repeat("裙", cjk+1), false},
			{strings.Repeat("裙", cjk-1) + "ab", true},
			{strings.Repeat("裙", cjk-1) + "abc", false},
			{strings.Repeat("a", limit), true},
			{strings.Repeat("a", limit+1), false},
			{strings.Repeat("裙", cjk-1) + "，", true},
		}
		for _, tc := range cases {
			r := c.Check(c.Rules(p), listinggen.Copy{Title: tc.title})
			if r.OK != tc.ok {
				t.Errorf("%s (limit %d): %d units ok=%v, want %v", p, limit, listinggen.TitleUnits(tc.title), r.OK, tc.ok)
			}
		}
	}
	// Taobao: a CJK title of 30 characters is fine, 31 is not.
	tb := c.Rules(listinggen.PlatformTaobao)
	if !c.Check(tb, listinggen.Copy{Title: strings.Repeat("杯", 30)}).OK || c.Check(tb, listinggen.Copy{Title: strings.Repeat("杯", 31)}).OK {
		t.Error("taobao 30/31 CJK characters")
	}
}
