import { describe, expect, test } from 'vitest';
import { decodeEntities, extractHtmlLinks, extractTextLinks, hostOf, htmlToPlainText, scanHtml } from '../../src/parse/html.js';

describe('htmlToPlainText', () => {
  test.each([
    ['<p>Hello <b>world</b></p>', 'Hello world'],
    ['a&amp;b &lt;tag&gt; &#72;&#x49; caf&eacute;', 'a&b <tag> HI caf&eacute;'],
    ['<head><title>Title</title><style>p{}</style></head><script>var x = "<p>";</script>Body', 'Body'],
    ['before<!-- <p>comment</p> -->after', 'beforeafter'],
    ['shown<!-- never closed <p>hidden</p>', 'shown'],
    ['<a title="x > y" href="#">link</a>', 'link'],
    ['1 < 2 and 3 <4', '1 < 2 and 3 <4'],
    ['text then <span cut off', 'text then'],
    ['<SCRIPT>hidden</SCRIPT >shown', 'shown'],
    ['<style>never closed p { color: red }', ''],
    ['<!DOCTYPE html><?xml version="1.0"?>doc', 'doc'],
  ])('%j', (html, expected) => {
    expect(htmlToPlainText(html)).toBe(expected);
  });
});

describe('decodeEntities', () => {
  test('out-of-range code points stay as written', () => {
    expect(decodeEntities('&#x110000; &#99999999999;')).toBe('&#x110000; &#99999999999;');
  });
});

describe('extractHtmlLinks', () => {
  test('unclosed anchor ends at the next one', () => {
    const links = extractHtmlLinks('<a href="https://one.example.com/">first <a href="https://two.example.com/">second</a> after', 10);
    expect(links.map((link) => [link.host, link.text])).toEqual([
      ['one.example.com', 'first'],
      ['two.example.com', 'second'],
    ]);
  });

  test('last unclosed anchor runs to the end', () => {
    const links = extractHtmlLinks('<p><a href=https://example.com/x>click <b>me', 10);
    expect(links).toEqual([{ url: 'https://example.com/x', host: 'example.com', text: 'click me', fromHtml: true }]);
  });

  test('stops at max', () => {
    const html = '<a href="https://example.com/">x</a>'.repeat(5);
    expect(extractHtmlLinks(html, 3)).toHaveLength(3);
  });

  test('href with an unclosed quote', () => {
    const links = extractHtmlLinks('<a href="https://example.com/path>text', 10);
    expect(links[0]?.host).toBe('example.com');
  });

  test('anchors inside comments are ignored', () => {
    expect(extractHtmlLinks('<!-- <a href="https://example.com/">x</a> -->', 10)).toEqual([]);
  });

  test('area and link elements are not anchors', () => {
    expect(extractHtmlLinks('<link href="https://example.com/style.css"><area href="https://example.com/map">', 10)).toEqual([]);
  });
});

describe('extractTextLinks', () => {
  test('skips excluded URLs and stops at max', () => {
    const text = 'https://a.example.com/ https://b.example.com/ https://c.example.com/ https://d.example.com/';
    const links = extractTextLinks(text, 2, new Set(['https://a.example.com/']));
    expect(links.map((link) => link.host)).toEqual(['b.example.com', 'c.example.com']);
  });

  test('zero max gives none', () => {
    expect(extractTextLinks('https://example.com/', 0)).toEqual([]);
  });
});

describe('hostOf', () => {
  test.each([
    ['https://user:pass@Mail.Example.COM:8443/path', 'mail.example.com'],
    ['http://[2001:db8::1]/x', '[2001:db8::1]'],
    ['www.example.org/page', 'www.example.org'],
    ['http://example.com./', 'example.com'],
    ['mailto:alice@example.com', ''],
    ['/relative/path', ''],
    ['  https://example.net  ', 'example.net'],
  ])('%j', (url, host) => {
    expect(hostOf(url)).toBe(host);
  });
});

describe('scanHtml', () => {
  test('nested hidden elements count once', () => {
    const stats = scanHtml('<div style="display:none">outer <span style="visibility:hidden">inner</span></div>');
    expect(stats.hiddenElements).toBe(1);
    expect(stats.hiddenTextLength).toBe('outer'.length + 'inner'.length);
  });

  test('hidden element inside a styled one', () => {
    const stats = scanHtml('<div style="margin:0">shown <span style="display:none">secret</span> shown</div>');
    expect(stats.hiddenElements).toBe(1);
    expect(stats.hiddenTextLength).toBe('secret'.length);
  });

  test('unstyled end tag of the same name does not end the hidden element', () => {
    const stats = scanHtml('<div style="display:none"><div>a</div>b</div>c');
    expect(stats.hiddenTextLength).toBe(2);
  });

  test('hidden element without text is not counted', () => {
    expect(scanHtml('<div style="display:none"> <img src="x"> </div>').hiddenElements).toBe(0);
  });

  test('hidden void element hides nothing', () => {
    const stats = scanHtml('<img style="display:none" src="x">visible <br style="display:none"/>text');
    expect(stats.hiddenTextLength).toBe(0);
    expect(stats.images).toBe(1);
  });

  test('unclosed table cell is closed by the next one', () => {
    const stats = scanHtml('<table><tr><td style="display:none">gone<td>shown</tr></table>');
    expect(stats.hiddenTextLength).toBe('gone'.length);
  });

  test.each([
    ['font-size:0', true],
    ['font-size: 0px;', true],
    ['font-size:1px', true],
    ['font-size: 0.5em', true],
    ['font-size: 1em;', false],
    ['font-size: 12pt', false],
    ['opacity:0', true],
    ['opacity:0.5', false],
    ['max-height:0;overflow:hidden', true],
    ['overflow:hidden; height:0px', true],
    ['line-height:0; overflow:hidden', false],
    ['display:inline', false],
  ])('style %j hidden: %s', (style, hidden) => {
    expect(scanHtml(`<span style="${style}">text</span>`).hiddenElements).toBe(hidden ? 1 : 0);
  });

  test.each([
    ['color:#fff;background-color:#ffffff', 1],
    ['color: white; background: #FFF', 1],
    ['color:rgb(255, 255, 255);background-color:#ffffff', 1],
    ['color:rgb(43,46,47);background-color:rgb(255,255,255)', 0],
    ['color:#333;background:#fff', 0],
  ])('colours %j', (style, count) => {
    expect(scanHtml(`<p style="${style}">text</p>`).invisibleColourText).toBe(count);
  });

  test('tags in comments and scripts are not counted', () => {
    const stats = scanHtml('<!-- <img src="x"> <form> --><script>document.write("<img>")</script>');
    expect(stats.images).toBe(0);
    expect(stats.forms).toBe(0);
    expect(stats.scripts).toBe(1);
  });
});
